#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace chatd::chat {

// Why the service refused a request. The transport decides what each means for its clients
// (net/server.cpp maps them to HTTP statuses and counted limits).
enum class ErrorCode {
    InvalidJson,
    BadRequest,
    InvalidName,
    InvalidRoom,
    InvalidSentAt,
    WeakPassword,
    CannotLeaveGeneral,
    Unauthorized,
    InvalidCredentials,
    Forbidden,
    NotMember,
    NotFound,
    RoomNotFound,
    UserNotFound,
    NameTaken,
    RoomExists,
    MessageTooLong,
    // Room events (edit, delete, react, unreact, replies): the store's rules (store::Refusal)
    // and the service's checks of what a change holds.
    MessageNotFound,
    MessageDeleted,
    NotAuthor,
    EditWindowClosed,
    TooManyReactions,
    InvalidReaction,
    EmptyMessage,
    // A read mark above the room's newest id (docs/protocol.md "Read state").
    ReadMarkBeyondNewest,
    // `@room` in a room larger than --max-room-mention-members (docs/protocol.md "Mentions").
    RoomMentionTooLarge,
    // People (docs/protocol.md "People").
    PageTooLarge,
    DisplayNameTooLong,
    InvalidDisplayName,
    // A group conversation of more people than --max-group-dm-members.
    GroupDmTooLarge,
    // A notification level other than all, mentions, muted (docs/protocol.md).
    InvalidNotifyLevel,
    SendRateLimited,
    LoginThrottled,
    RegistrationThrottled,
    StoreFailed,
};

// The protocol's name of a code, as error bodies and error frames carry it (docs/protocol.md).
std::string_view code_name(ErrorCode code);

// A refused request: what, a sentence for people, and for throttling how long to wait.
class Error : public std::runtime_error {
  public:
    Error(ErrorCode error_code,
          const std::string& message,
          std::optional<std::chrono::seconds> retry = std::nullopt)
        : std::runtime_error(message), code(error_code), retry_after(retry) {}
    ErrorCode code;
    std::optional<std::chrono::seconds> retry_after;
};

// An Error as plain values, to hand from one thread to another: an Error copied, or thrown through
// an exception_ptr, shares a reference count inside libstdc++ between the two threads, which the
// thread sanitizer cannot see synchronised. raise() throws a new Error on the receiving thread.
struct ErrorRecord {
    ErrorCode code;
    std::string message;
    std::optional<std::chrono::seconds> retry_after;

    static std::optional<ErrorRecord> of(const std::optional<Error>& error) {
        if (!error) return std::nullopt;
        return ErrorRecord{error->code, std::string(error->what()), error->retry_after};
    }
    [[noreturn]] void raise() const { throw Error(code, message, retry_after); }
};

}  // namespace chatd::chat
