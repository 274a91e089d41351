// What clients are told of a user's presence: the user over every node, once per change.
#include "chat/presence_relay.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace {

using namespace chatd;
using model::Availability;

class PresenceRelayTest : public ::testing::Test {
  protected:
    // Relays a change of `user` after setting what the user now is over every node.
    void change(const std::string& user, Availability now) {
        status[user] = now;
        relay.relay(model::Presence{user, now != Availability::Offline},
                    [this](const model::Presence& shown) {
                        told.push_back(shown.user_name + ":" +
                                       (!shown.online ? "offline"
                                        : shown.away  ? "away"
                                                      : "online"));
                    });
    }

    std::map<std::string, Availability> status;
    std::vector<std::string> told;
    chat::PresenceRelay relay{[this](const std::string& user) {
        const auto it = status.find(user);
        return it == status.end() ? Availability::Offline : it->second;
    }};
};

TEST_F(PresenceRelayTest, TellsEachChangeOfTheUsersStatusOnce) {
    change("bob", Availability::Online);
    change("bob", Availability::Online);  // a second node's first connection: no news
    change("bob", Availability::Away);
    change("bob", Availability::Away);
    change("bob", Availability::Online);
    change("bob", Availability::Offline);
    change("bob", Availability::Offline);
    EXPECT_EQ(told,
              (std::vector<std::string>{"bob:online", "bob:away", "bob:online", "bob:offline"}));
}

TEST_F(PresenceRelayTest, AnEventIsToldAsWhatTheUserIsNowNotWhatTheNodeSaid) {
    change("bob", Availability::Online);
    // One node says bob went offline there, but he is still active on another: nothing to tell.
    status["bob"] = Availability::Online;
    relay.relay(model::Presence{"bob", false},
                [this](const model::Presence&) { told.emplace_back("unexpected"); });
    // The active node's last connection closes while bob is away on another: he is away.
    status["bob"] = Availability::Away;
    relay.relay(model::Presence{"bob", false}, [this](const model::Presence& shown) {
        told.push_back(shown.online && shown.away ? "bob:away" : "wrong");
    });
    EXPECT_EQ(told, (std::vector<std::string>{"bob:online", "bob:away"}));
}

}  // namespace
