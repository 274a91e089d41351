#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "model/message.hpp"
#include "store/store.hpp"

// The rules of the room log that both backends check inside the append's transaction
// (docs/design/storage.md "Room events"). What each backend reads and writes differs; what is
// refused, and which reply_to is stored, is decided here.
namespace chatd::store::detail {

// What the rules need of the message a change targets or a reply answers.
struct TargetRow {
    std::string room;
    model::MessageKind kind = model::MessageKind::Text;
    std::string user_name;
    std::int64_t ts_ms = 0;
    bool deleted = false;
    model::MessageId reply_to = 0;
};

// Drops the fields that the message's kind does not have, so that nothing but a change stores
// a target and nothing but a Text message names a thread, and a delete stores no text.
// Idempotent: a batch retried one by one normalizes again.
inline void normalize(NewMessage& message) {
    if (!model::is_change(message.kind)) message.target_id = 0;
    if (message.kind != model::MessageKind::Text) message.reply_to = 0;
    if (message.kind == model::MessageKind::Delete) message.content.clear();
    if (message.kind != model::MessageKind::Text) {
        message.mention_names.clear();
        message.mentions_room = false;
    }
}

// Whether storing `message` stores mentions: such appends are stored one at a time too.
inline bool has_mentions(const NewMessage& message) {
    return !message.mention_names.empty() || message.mentions_room;
}

// Mentions a backend found for an append, inside its transaction (docs/design/storage.md
// "Mentions"): the named members, in the order written, and the room's member count when the
// append says `@room`.
struct FoundMentions {
    std::vector<std::string> members;
    std::int64_t room_members = 0;
};

// Whether `@room` is refused: more members than the append allows.
inline bool room_mention_too_large(const NewMessage& message, const FoundMentions& found) {
    return message.mentions_room &&
           found.room_members > static_cast<std::int64_t>(message.max_room_mention_members);
}

// How many members a room-size query needs to count to decide room_mention_too_large.
inline std::int64_t room_members_count_limit(const NewMessage& message) {
    return static_cast<std::int64_t>(
               std::min<std::size_t>(message.max_room_mention_members, INT32_MAX)) +
           1;
}

// Whether storing `message` depends on another row (a change, or a reply): such appends are
// checked and applied one at a time.
inline bool follows_rules(const NewMessage& message) {
    return model::is_change(message.kind) || message.reply_to != 0;
}

// The row a rule-following append refers to: its target, or the message it answers.
inline model::MessageId referenced_id(const NewMessage& message) {
    return model::is_change(message.kind) ? message.target_id : message.reply_to;
}

// The refusal of a rule-following append given the row it refers to (nullopt: no such row).
// TooManyReactions needs the target's reaction set: see check_rules.
inline Refusal check_target(const NewMessage& message, const std::optional<TargetRow>& target) {
    // Only a visible Text message of the same room can be changed or answered.
    if (!target || target->room != message.room || target->kind != model::MessageKind::Text) {
        return Refusal::MessageNotFound;
    }
    if (target->deleted) return Refusal::MessageDeleted;
    if (message.kind == model::MessageKind::Edit || message.kind == model::MessageKind::Delete) {
        if (target->user_name != message.user_name) return Refusal::NotAuthor;
        // At the window's edge still allowed, one millisecond past it refused.
        if (message.edit_window_ms > 0 && message.ts_ms - target->ts_ms > message.edit_window_ms) {
            return Refusal::EditWindowClosed;
        }
    }
    return Refusal::None;
}

// The reply_to stored with an accepted append: a change carries its target's (so a client can
// count a deleted reply off its root); a reply to a reply answers that reply's thread, since
// threads are one level deep.
inline model::MessageId stored_reply_to(const NewMessage& message, const TargetRow& target) {
    if (model::is_change(message.kind)) return target.reply_to;
    return target.reply_to != 0 ? target.reply_to : message.reply_to;
}

// The answer to an append that stored nothing because `first_copy` has its client_msg_id.
inline AppendResult duplicate_of(model::Message first_copy) {
    AppendResult result;
    result.ok = true;
    result.duplicate = true;
    result.message = std::move(first_copy);
    return result;
}

// What storing an accepted rule-following append needs.
struct AcceptedByRules {
    TargetRow target;
    model::MessageId reply_to = 0;  // the stored reply_to (stored_reply_to)
};

// The target's reactions as the React rule needs them.
struct ReactionState {
    std::int64_t distinct_emoji = 0;
    bool emoji_present = false;  // the React's own emoji
};

// The rules of a rule-following append (follows_rules), read through the backend's open
// transaction: either the answer for an append that stores nothing (its first copy when
// retried, even if the rules would refuse it now; or its refusal) or what storing it needs.
//   first_copy(message)     -> std::optional<model::Message>, by user_name and client_msg_id
//   find_target(id)         -> std::optional<TargetRow>
//   reactions_of(message)   -> ReactionState of message.target_id for message.content
template <class FirstCopy, class FindTarget, class ReactionsOf>
std::variant<AppendResult, AcceptedByRules> check_rules(const NewMessage& message,
                                                        FirstCopy&& first_copy,
                                                        FindTarget&& find_target,
                                                        ReactionsOf&& reactions_of) {
    if (!message.client_msg_id.empty()) {
        if (std::optional<model::Message> existing = first_copy(message)) {
            return duplicate_of(std::move(*existing));
        }
    }
    const std::optional<TargetRow> target = find_target(referenced_id(message));
    Refusal refusal = check_target(message, target);
    if (refusal == Refusal::None && message.kind == model::MessageKind::React) {
        const ReactionState reactions = reactions_of(message);
        // A new emoji on a target that already has max_reactions distinct ones.
        if (!reactions.emoji_present &&
            reactions.distinct_emoji >= static_cast<std::int64_t>(message.max_reactions)) {
            refusal = Refusal::TooManyReactions;
        }
    }
    if (refusal != Refusal::None) {
        AppendResult refused;
        refused.refusal = refusal;
        return refused;
    }
    return AcceptedByRules{*target, stored_reply_to(message, *target)};
}

}  // namespace chatd::store::detail
