#include "chat/error.hpp"

namespace chatd::chat {

std::string_view code_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::InvalidJson:
            return "invalid_json";
        case ErrorCode::BadRequest:
            return "bad_request";
        case ErrorCode::InvalidName:
            return "invalid_name";
        case ErrorCode::InvalidRoom:
            return "invalid_room";
        case ErrorCode::InvalidSentAt:
            return "invalid_sent_at";
        case ErrorCode::WeakPassword:
            return "weak_password";
        case ErrorCode::CannotLeaveGeneral:
            return "cannot_leave_general";
        case ErrorCode::Unauthorized:
            return "unauthorized";
        case ErrorCode::InvalidCredentials:
            return "invalid_credentials";
        case ErrorCode::Forbidden:
            return "forbidden";
        case ErrorCode::NotMember:
            return "not_member";
        case ErrorCode::NotFound:
            return "not_found";
        case ErrorCode::RoomNotFound:
            return "room_not_found";
        case ErrorCode::UserNotFound:
            return "user_not_found";
        case ErrorCode::NameTaken:
            return "name_taken";
        case ErrorCode::RoomExists:
            return "room_exists";
        case ErrorCode::MessageTooLong:
            return "message_too_long";
        case ErrorCode::MessageNotFound:
            return "message_not_found";
        case ErrorCode::MessageDeleted:
            return "message_deleted";
        case ErrorCode::NotAuthor:
            return "not_author";
        case ErrorCode::EditWindowClosed:
            return "edit_window_closed";
        case ErrorCode::TooManyReactions:
            return "too_many_reactions";
        case ErrorCode::InvalidReaction:
            return "invalid_reaction";
        case ErrorCode::EmptyMessage:
            return "empty_message";
        case ErrorCode::ReadMarkBeyondNewest:
            return "read_mark_beyond_newest";
        case ErrorCode::RoomMentionTooLarge:
            return "room_mention_too_large";
        case ErrorCode::SendRateLimited:
        case ErrorCode::LoginThrottled:
        case ErrorCode::RegistrationThrottled:
            return "rate_limited";
        case ErrorCode::PageTooLarge:
            return "page_too_large";
        case ErrorCode::DisplayNameTooLong:
            return "display_name_too_long";
        case ErrorCode::InvalidDisplayName:
            return "invalid_display_name";
        case ErrorCode::GroupDmTooLarge:
            return "group_dm_too_large";
        case ErrorCode::InvalidNotifyLevel:
            return "invalid_notify_level";
        case ErrorCode::StoreFailed:
            return "store_failed";
    }
    return "unknown";
}

}  // namespace chatd::chat
