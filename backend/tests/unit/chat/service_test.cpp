// ChatService against the real SQLite store, the real local bus and a real hub: a message goes
// through the store's group commit, the bus and the hub's fan-out exactly as in production.
#include "chat/service.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "auth/auth.hpp"
#include "bus/local_bus.hpp"
#include "chat/codec.hpp"
#include "chat/hub.hpp"
#include "delivery/local_publisher.hpp"
#include "metrics/metrics.hpp"
#include "model/clock.hpp"
#include "store/sqlite_store.hpp"
#include "support/recording_sink.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace chatd;
using namespace std::chrono_literals;
namespace json = boost::json;
using chat::ChatService;
using chat::CloseCode;
using chat::Error;
using chat::ErrorCode;
using chat::Identity;
using chat::Protocol;
using chat::RoomEntry;
using chat::ServiceOptions;
using test_support::RecordingSink;
using test_support::TempDir;

constexpr std::string_view kPassword = "correct horse";

std::vector<json::value> frames_of(const RecordingSink& sink) {
    std::vector<json::value> out;
    for (const auto& text : sink.texts()) out.push_back(json::parse(text));
    return out;
}

std::vector<json::value> frames_of_type(const RecordingSink& sink, std::string_view type) {
    std::vector<json::value> out;
    for (auto& frame : frames_of(sink)) {
        if (frame.at("type").as_string() == type) out.push_back(std::move(frame));
    }
    return out;
}

std::vector<std::string> types_of(const RecordingSink& sink) {
    std::vector<std::string> out;
    for (const auto& frame : frames_of(sink)) out.emplace_back(frame.at("type").as_string());
    return out;
}

std::set<std::string> keys_of(const json::value& value) {
    std::set<std::string> keys;
    for (const auto& [key, item] : value.as_object()) keys.emplace(key);
    return keys;
}

// Runs `call`, which must throw Error, and returns that error.
template <typename Call>
Error chat_error(Call&& call) {
    try {
        call();
    } catch (const Error& error) {
        return error;
    }
    ADD_FAILURE() << "no Error was thrown";
    return Error(ErrorCode::StoreFailed, "none");
}

#define EXPECT_ERROR(call, expected_code)                                        \
    do {                                                                         \
        const Error error_ = chat_error([&] { (void)(call); });                  \
        EXPECT_EQ(chat::code_name(error_.code), chat::code_name(expected_code)); \
    } while (false)

class ChatServiceTest : public ::testing::Test {
  protected:
    struct Client {
        Identity identity;
        chat::ConnectionId id = 0;
        std::shared_ptr<RecordingSink> sink;
    };

    static void SetUpTestSuite() { auth::initialize(); }

    static ServiceOptions default_options() {
        ServiceOptions options;
        options.password_cost = auth::PasswordCost{1, 8192};
        options.version = "test";
        return options;
    }

    void SetUp() override {
        bus.start([this](const model::EventPtr& event, const std::string& only_user) {
            hub.deliver(*event, only_user);
        });
        use_options(default_options());
    }

    void TearDown() override {
        settle();
        bus.stop();
    }

    // Waits until every message stored so far has reached the hub: committed, its callback run
    // (store), and handed by the publisher's thread to the bus (publisher).
    void settle() {
        store.flush();
        publisher.flush();
    }

    // Replaces the service (the store, bus and hub stay).
    void use_options(ServiceOptions options) {
        settle();
        service.reset();
        service =
            std::make_unique<ChatService>(store, bus, publisher, hub, metrics, std::move(options));
    }

    Identity identity_from(const chat::Session& session) {
        const auto identity = service->authenticate(session.token);
        EXPECT_TRUE(identity.has_value());
        return identity.value_or(Identity{});
    }

    // Registers (password mode) or logs in (open mode) and returns the session's identity.
    Identity sign_up(const std::string& name) {
        if (service->options().open_auth) return identity_from(service->login(name, ""));
        return identity_from(service->register_user(name, kPassword));
    }

    Client connect(const Identity& identity, Protocol protocol = Protocol::Native) {
        Client client;
        client.identity = identity;
        client.sink = std::make_shared<RecordingSink>();
        client.id = service->connect(identity, protocol, client.sink,
                                     service->rooms_of(identity.user_name));
        return client;
    }

    Client connect_new(const std::string& name) { return connect(sign_up(name)); }

    void frame(const Client& client, std::string_view text) {
        service->handle_frame(client.id, client.identity.user_name, client.sink, text);
    }

    void send(const Client& client,
              std::string_view room,
              std::string_view content,
              std::string_view client_msg_id) {
        frame(client, json::serialize(json::object{{"type", "send"},
                                                   {"room", room},
                                                   {"content", content},
                                                   {"client_msg_id", client_msg_id}}));
    }

    // Sends and waits until the message is stored and delivered; returns the ack frame.
    json::value send_and_ack(const Client& client,
                             std::string_view room,
                             std::string_view content,
                             std::string_view client_msg_id) {
        send(client, room, content, client_msg_id);
        settle();
        const auto acks = frames_of_type(*client.sink, "ack");
        if (acks.empty()) {
            ADD_FAILURE() << "no ack; frames: " << ::testing::PrintToString(client.sink->texts());
            return json::value{};
        }
        return acks.back();
    }

    // Stores a seed message and returns what `done` reported.
    std::optional<Error> post_seed(const std::string& user,
                                   std::string content,
                                   std::optional<std::string> sent_at = std::nullopt) {
        auto done = std::make_shared<std::promise<std::optional<Error>>>();
        auto result = done->get_future();
        service->post_seed(user, std::move(content), std::move(sent_at),
                           [done](std::optional<Error> error) { done->set_value(error); });
        settle();
        EXPECT_EQ(result.wait_for(0s), std::future_status::ready) << "done did not run by flush";
        return result.get();
    }

    std::vector<model::MessageId> history_ids(const Identity& identity,
                                              std::string_view room,
                                              std::optional<std::int64_t> before,
                                              std::optional<std::int64_t> after,
                                              int limit,
                                              bool* has_more = nullptr) {
        const auto page = service->history(identity, room, before, after, limit);
        std::vector<model::MessageId> ids;
        for (const auto& message : page.messages) ids.push_back(message.id);
        if (has_more) *has_more = page.has_more;
        return ids;
    }

    bool metric_has(const std::string& line) {
        return metrics.serialize().find(line) != std::string::npos;
    }

    TempDir dir{"chatd-service"};
    metrics::Metrics metrics{"test"};
    bus::LocalBus bus;
    delivery::LocalPublisher publisher{bus};
    chat::Hub hub{metrics};
    store::SqliteStore store{
        store::SqliteOptions{.path = (dir.path() / "chat.db").string(), .synchronous_full = false},
        &metrics};
    std::unique_ptr<ChatService> service;
};

class ChatServiceOpenModeTest : public ChatServiceTest {
  protected:
    void SetUp() override {
        ChatServiceTest::SetUp();
        auto options = default_options();
        options.open_auth = true;
        use_options(options);
    }
};

// ---------------------------------------------------------------------------------------------
// Accounts

TEST_F(ChatServiceTest, RegisterReturnsTheUserNameATokenAndItsExpiry) {
    const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const auto session = service->register_user("alice", kPassword);
    EXPECT_EQ(session.user_name, "alice");
    EXPECT_EQ(session.token.size(), 43u);
    EXPECT_GT(session.expires_ms, before + 24LL * 3600 * 1000);
    EXPECT_EQ(identity_from(session).user_name, "alice");
}

TEST_F(ChatServiceTest, RegisteringATakenNameIsNameTaken) {
    service->register_user("alice", kPassword);
    EXPECT_ERROR(service->register_user("alice", "another password"), ErrorCode::NameTaken);
}

TEST_F(ChatServiceTest, RegisteringAnInvalidNameIsInvalidName) {
    for (const char* name : {"", "a b", "a/b", "a:b", "\xFF"}) {
        EXPECT_ERROR(service->register_user(name, kPassword), ErrorCode::InvalidName);
    }
    EXPECT_ERROR(service->register_user(std::string(33, 'a'), kPassword), ErrorCode::InvalidName);
}

TEST_F(ChatServiceTest, RegisteringALookAlikeOfATakenNameIsNameTaken) {
    service->register_user("alice", kPassword);
    for (const char* name :
         {"Alice", "ALICE", "\u0430lice", "\uFF41\uFF4C\uFF49\uFF43\uFF45", "a1ice"}) {
        EXPECT_ERROR(service->register_user(name, kPassword), ErrorCode::NameTaken);
    }
    for (const char* name : {"al\u200Dice", "al\u200Bice", "\u202Ealice", "al\u00ADice"}) {
        EXPECT_ERROR(service->register_user(name, kPassword), ErrorCode::InvalidName);
    }
    EXPECT_FALSE(store.find_user("Alice").has_value());
    EXPECT_NO_THROW(service->register_user("alicia", kPassword));
}

TEST_F(ChatServiceTest, NamesAreStoredInNfcAndTheDecomposedSpellingSignsIn) {
    const auto session = service->register_user("zoe\u0301", kPassword);
    EXPECT_EQ(session.user_name, "zo\u00E9");
    EXPECT_EQ(service->login("zoe\u0301", kPassword).user_name, "zo\u00E9");
    EXPECT_ERROR(service->register_user("zo\u00E9", kPassword), ErrorCode::NameTaken);
}

TEST_F(ChatServiceTest, BackfillKeepsAnExistingClashAndRefusesNewLookAlikes) {
    // Accounts from before name keys: no key, and one of them a look-alike of the other, one
    // with a zero-width joiner that the rules now refuse.
    const auto hash = auth::hash_password(kPassword, auth::PasswordCost{1, 8192});
    ASSERT_TRUE(store.create_user({"mallory", hash, 1}));
    ASSERT_TRUE(store.create_user({"Mallory", hash, 2}));
    ASSERT_TRUE(store.create_user({"tr\u200Dudy", hash, 3}));
    EXPECT_EQ(service->backfill_name_keys(), 3u);
    EXPECT_EQ(service->backfill_name_keys(), 0u);
    EXPECT_NO_THROW(service->login("mallory", kPassword));
    EXPECT_NO_THROW(service->login("Mallory", kPassword));
    EXPECT_NO_THROW(service->login("tr\u200Dudy", kPassword));
    EXPECT_ERROR(service->register_user("MALLORY", kPassword), ErrorCode::NameTaken);
    EXPECT_ERROR(service->register_user("trudy", kPassword), ErrorCode::NameTaken);
}

TEST_F(ChatServiceTest, RegisteringWithAPasswordUnderEightCharactersIsWeakPassword) {
    EXPECT_ERROR(service->register_user("alice", "1234567"), ErrorCode::WeakPassword);
    EXPECT_ERROR(service->register_user("alice", ""), ErrorCode::WeakPassword);
    // Characters, not bytes: seven two-byte characters are still seven.
    EXPECT_ERROR(
        service->register_user("alice", "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"),
        ErrorCode::WeakPassword);
    EXPECT_NO_THROW(service->register_user("alice", "correct horse"));
}

TEST_F(ChatServiceTest, RegisteringWithACommonPasswordOrTheOwnNameIsWeakPasswordWithAReason) {
    for (const char* password : {"12345678", "password", "qwertyuiop", "margaret", "MARGARET1"}) {
        const auto error = chat_error([&] { service->register_user("margaret", password); });
        EXPECT_EQ(error.code, ErrorCode::WeakPassword) << password;
        EXPECT_GT(std::string_view(error.what()).size(), 10u) << password;
    }
    EXPECT_NO_THROW(service->register_user("margaret", kPassword));
}

TEST_F(ChatServiceTest, TheLengthPolicyKeepsOnlyTheLengthRule) {
    auto options = default_options();
    options.password_policy = auth::PasswordPolicy::length;
    use_options(options);
    EXPECT_NO_THROW(service->register_user("alice", "12345678"));
    EXPECT_NO_THROW(service->register_user("margaret", "margaret"));
    EXPECT_ERROR(service->register_user("bob", "1234567"), ErrorCode::WeakPassword);
}

TEST_F(ChatServiceTest, LoginWithTheRightPasswordStartsANewSession) {
    const auto registered = service->register_user("alice", kPassword);
    const auto session = service->login("alice", kPassword);
    EXPECT_EQ(session.user_name, "alice");
    EXPECT_NE(session.token, registered.token);
    EXPECT_EQ(identity_from(session).user_name, "alice");
    EXPECT_EQ(identity_from(registered).user_name, "alice");
}

TEST_F(ChatServiceTest, LoginWithAWrongPasswordIsInvalidCredentials) {
    service->register_user("alice", kPassword);
    EXPECT_ERROR(service->login("alice", "wrong password"), ErrorCode::InvalidCredentials);
}

TEST_F(ChatServiceTest, LoginAsAnUnknownUserIsInvalidCredentials) {
    EXPECT_ERROR(service->login("nobody", kPassword), ErrorCode::InvalidCredentials);
}

TEST_F(ChatServiceTest, GarbageTokensDoNotAuthenticate) {
    EXPECT_FALSE(service->authenticate(""));
    EXPECT_FALSE(service->authenticate("not-a-token"));
    EXPECT_FALSE(service->authenticate(std::string(129, 'a')));
}

TEST_F(ChatServiceTest, LogoutEndsTheTokenAndClosesOnlyThatSessionsConnections) {
    const auto first = identity_from(service->register_user("alice", kPassword));
    const auto second_session = service->login("alice", kPassword);
    const auto second = identity_from(second_session);
    const auto a1 = connect(first);
    const auto a1_seed = connect(first, Protocol::Seed);
    const auto a2 = connect(second);

    service->logout(first);

    for (const auto* client : {&a1, &a1_seed}) {
        const auto closes = client->sink->closes();
        ASSERT_EQ(closes.size(), 1u);
        EXPECT_EQ(closes[0].code, CloseCode::Policy);
    }
    EXPECT_FALSE(a2.sink->closed());
    EXPECT_TRUE(service->authenticate(second_session.token).has_value());
}

TEST_F(ChatServiceTest, LogoutAllEndsEveryTokenOfTheUserAndClosesTheirConnections) {
    const auto first = identity_from(service->register_user("alice", kPassword));
    const auto second_session = service->login("alice", kPassword);
    const auto second = identity_from(second_session);
    const auto bob = identity_from(service->register_user("bob", kPassword));
    const auto a1 = connect(first);
    const auto a2 = connect(second);
    const auto b = connect(bob);

    EXPECT_EQ(service->logout_all(second), 2u);

    for (const auto* client : {&a1, &a2}) {
        const auto closes = client->sink->closes();
        ASSERT_EQ(closes.size(), 1u);
        EXPECT_EQ(closes[0].code, CloseCode::Policy);
    }
    EXPECT_FALSE(b.sink->closed());
    EXPECT_FALSE(service->authenticate(second_session.token).has_value());
    EXPECT_EQ(service->authenticate(first.session).has_value(), false);
}

TEST_F(ChatServiceTest, PastMaxSessionsPerUserTheOldestIsDroppedAndItsConnectionsClosed) {
    auto options = default_options();
    options.max_sessions_per_user = 2;
    // Each sign-in a millisecond later: sessions of the same millisecond have no oldest.
    options.clock = [tick = std::int64_t{0}]() mutable { return model::now_ms() + tick++; };
    use_options(options);
    const auto first = service->register_user("alice", kPassword);
    const auto a1 = connect(identity_from(first));
    const auto second = service->login("alice", kPassword);
    EXPECT_TRUE(service->authenticate(first.token).has_value());  // at the limit
    const auto third = service->login("alice", kPassword);
    EXPECT_FALSE(service->authenticate(first.token).has_value());  // past it
    EXPECT_TRUE(service->authenticate(second.token).has_value());
    EXPECT_TRUE(service->authenticate(third.token).has_value());
    ASSERT_EQ(a1.sink->closes().size(), 1u);
    EXPECT_EQ(a1.sink->closes()[0].code, CloseCode::Policy);
}

TEST_F(ChatServiceTest, ExpiredSessionsArePurgedOnASignIn) {
    store.create_session({"old", "ghost", 1});
    service->register_user("alice", kPassword);
    EXPECT_EQ(store.purge_expired_sessions(2), 0u);  // already purged by the registration
}

TEST_F(ChatServiceTest, RegistrationsPerAddressAreLimitedWithinTheWindow) {
    std::int64_t now = 1'000'000'000;
    auto options = default_options();
    options.max_registrations_per_address = 2;
    options.registration_window = std::chrono::hours(1);
    options.clock = [&now] { return now; };
    use_options(options);
    service->register_user("u1", kPassword, "6.6.6.6");
    service->register_user("u2", kPassword, "6.6.6.6");  // at the limit
    EXPECT_ERROR(service->register_user("u3", kPassword, "6.6.6.6"),
                 ErrorCode::RegistrationThrottled);
    const auto error = chat_error([&] { service->register_user("u3", kPassword, "6.6.6.6"); });
    EXPECT_EQ(error.retry_after, std::optional<std::chrono::seconds>(3600));
    EXPECT_NO_THROW(service->register_user("u4", kPassword, "1.2.3.4"));  // another address
    now += 3'600'000;  // the window since the last registration has passed
    EXPECT_NO_THROW(service->register_user("u3", kPassword, "6.6.6.6"));
}

TEST_F(ChatServiceTest, ATokenStopsAuthenticatingAfterLogout) {
    const auto session = service->register_user("alice", kPassword);
    const auto identity = identity_from(session);
    service->logout(identity);
    EXPECT_FALSE(service->authenticate(session.token).has_value());
}

TEST_F(ChatServiceTest, RegisterIsNotFoundInOpenMode) {
    auto options = default_options();
    options.open_auth = true;
    use_options(options);
    EXPECT_ERROR(service->register_user("alice", kPassword), ErrorCode::NotFound);
}

TEST_F(ChatServiceTest, RepeatedWrongPasswordsAreThrottledWithTheWaitAndTheRightOneWaitsToo) {
    std::int64_t now = 1'000'000'000;
    auto options = default_options();
    options.login_throttle.pair_max_failures = 2;
    options.login_throttle.base_delay = std::chrono::seconds(4);
    options.clock = [&now] { return now; };
    use_options(options);
    service->register_user("alice", kPassword, "6.6.6.6");
    for (int i = 0; i < 2; ++i) {
        EXPECT_ERROR(service->login("alice", "wrong password", "6.6.6.6"),
                     ErrorCode::InvalidCredentials);
    }
    const auto throttled = chat_error([&] { service->login("alice", kPassword, "6.6.6.6"); });
    EXPECT_EQ(throttled.code, ErrorCode::LoginThrottled);
    EXPECT_EQ(throttled.retry_after, std::optional<std::chrono::seconds>(4));
    EXPECT_NO_THROW(service->login("alice", kPassword, "1.2.3.4"));  // another address
    now += 4'000;
    EXPECT_EQ(service->login("alice", kPassword, "6.6.6.6").user_name, "alice");
}

TEST_F(ChatServiceTest, APasswordIsRequiredToSignInOrRegister) {
    service->register_user("alice", kPassword);
    EXPECT_ERROR(service->login("alice", std::nullopt), ErrorCode::BadRequest);
    EXPECT_ERROR(service->register_user("bob", std::nullopt), ErrorCode::BadRequest);
}

TEST_F(ChatServiceTest, ASeedRequestInPasswordModeActsOnlyAsTheSignedInUser) {
    const auto alice = sign_up("alice");
    EXPECT_TRUE(service->seed_needs_sign_in());
    const auto identity = service->seed_identity("alice", alice, chat::SeedUse::Send);
    EXPECT_EQ(identity.user_name, "alice");
    EXPECT_EQ(identity.session, alice.session);
    EXPECT_ERROR(service->seed_identity("alice", std::nullopt, chat::SeedUse::Send),
                 ErrorCode::Unauthorized);
    EXPECT_ERROR(service->seed_identity("bob", alice, chat::SeedUse::Send), ErrorCode::Forbidden);
    EXPECT_ERROR(service->seed_identity("bob", alice, chat::SeedUse::Receive),
                 ErrorCode::Forbidden);
    // The name is checked first, signed in or not.
    EXPECT_ERROR(service->seed_identity("a b", std::nullopt, chat::SeedUse::Receive),
                 ErrorCode::InvalidName);
}

TEST_F(ChatServiceOpenModeTest, ASeedRequestInOpenModeActsAsTheUserItNames) {
    EXPECT_FALSE(service->seed_needs_sign_in());
    const auto identity = service->seed_identity("bob", std::nullopt, chat::SeedUse::Receive);
    EXPECT_EQ(identity.user_name, "bob");
    EXPECT_TRUE(identity.session.empty());
    EXPECT_ERROR(service->seed_identity("a b", std::nullopt, chat::SeedUse::Receive),
                 ErrorCode::InvalidName);
}

TEST_F(ChatServiceOpenModeTest, APasswordIsOptional) {
    EXPECT_EQ(service->login("alice", std::nullopt).user_name, "alice");
}

TEST_F(ChatServiceTest, TheWelcomeNamesTheUserTheirRoomsAndWhoIsOnlineTheUserIncluded) {
    connect_new("carol");
    connect_new("alice");
    const auto bob = sign_up("bob");  // not connected yet: the welcome is the first frame
    const auto welcome = json::parse(*service->welcome("bob", {"general", "rust"}));
    EXPECT_EQ(welcome.at("type"), "welcome");
    EXPECT_EQ(welcome.at("user_name"), "bob");
    EXPECT_EQ(welcome.at("rooms"), (json::array{"general", "rust"}));
    EXPECT_EQ(welcome.at("online"), (json::array{"alice", "bob", "carol"}));  // sorted
    // Already connected elsewhere: listed once.
    connect(bob);
    EXPECT_EQ(json::parse(*service->welcome("bob", {})).at("online"),
              (json::array{"alice", "bob", "carol"}));
}

TEST_F(ChatServiceOpenModeTest, LoginNeedsOnlyAName) {
    const auto session = service->login("alice", "");
    EXPECT_EQ(identity_from(session).user_name, "alice");
}

TEST_F(ChatServiceOpenModeTest, LoginWithAnInvalidNameIsInvalidName) {
    EXPECT_ERROR(service->login("a b", ""), ErrorCode::InvalidName);
}

TEST_F(ChatServiceOpenModeTest, ANameWithALiveNativeConnectionIsTaken) {
    const auto alice = connect_new("alice");
    EXPECT_ERROR(service->login("alice", ""), ErrorCode::NameTaken);
    service->disconnect(alice.id, "alice");
    EXPECT_NO_THROW(service->login("alice", ""));
}

TEST_F(ChatServiceOpenModeTest, ANameWithOnlySeedConnectionsIsNotTaken) {
    const auto seed = connect(Identity{"alice", ""}, Protocol::Seed);
    EXPECT_NO_THROW(service->login("alice", ""));
}

TEST_F(ChatServiceOpenModeTest, ANameNobodyIsConnectedUnderCanBeUsedAgain) {
    service->login("alice", "");
    EXPECT_NO_THROW(service->login("alice", ""));
}

// ---------------------------------------------------------------------------------------------
// Connections and presence

TEST_F(ChatServiceTest, AUsersFirstConnectionIsAnnouncedToOthersAndTheLastOneLeavingToo) {
    const auto bob = connect_new("bob");
    bob.sink->clear();  // bob's own presence
    const auto alice_identity = sign_up("alice");
    const auto alice1 = connect(alice_identity);
    const auto alice2 = connect(alice_identity);
    EXPECT_EQ(frames_of_type(*bob.sink, "presence").size(), 1u);
    EXPECT_EQ(service->online_users(), (std::vector<std::string>{"alice", "bob"}));
    EXPECT_TRUE(metric_has("chat_users_online 2")) << metrics.serialize();

    service->disconnect(alice1.id, "alice");
    EXPECT_EQ(frames_of_type(*bob.sink, "presence").size(), 1u);
    service->disconnect(alice2.id, "alice");
    const auto presence = frames_of_type(*bob.sink, "presence");
    ASSERT_EQ(presence.size(), 2u);
    EXPECT_EQ(presence[0], json::parse(R"({"type":"presence","user_name":"alice","online":true})"));
    EXPECT_EQ(presence[1],
              json::parse(R"({"type":"presence","user_name":"alice","online":false})"));
    EXPECT_EQ(service->online_users(), (std::vector<std::string>{"bob"}));
    EXPECT_TRUE(metric_has("chat_users_online 1")) << metrics.serialize();
}

// ---------------------------------------------------------------------------------------------
// Sending

TEST_F(ChatServiceTest, SendAcksTheSenderThenDeliversTheMessageToEveryMember) {
    const auto alice = connect_new("alice");
    const auto bob = connect_new("bob");
    alice.sink->clear();
    bob.sink->clear();

    send(alice, "general", "hello bob", "c-1");
    settle();

    EXPECT_EQ(types_of(*alice.sink), (std::vector<std::string>{"ack", "message"}));
    const auto ack = frames_of(*alice.sink).at(0);
    EXPECT_EQ(ack.at("client_msg_id"), "c-1");
    EXPECT_EQ(ack.at("room"), "general");
    EXPECT_EQ(ack.at("duplicate"), json::value(false));
    EXPECT_EQ(ack.at("sent_at").as_string(), chat::format_sent_at(ack.at("ts").as_int64()));

    const auto messages = frames_of_type(*bob.sink, "message");
    ASSERT_EQ(messages.size(), 1u);
    const auto& message = messages[0].at("message");
    EXPECT_EQ(message.at("id"), ack.at("id"));
    EXPECT_EQ(message.at("user_name"), "alice");
    EXPECT_EQ(message.at("content"), "hello bob");
    EXPECT_EQ(message.at("kind"), "text");
    EXPECT_EQ(message.at("client_msg_id"), "c-1");
    EXPECT_EQ(frames_of_type(*alice.sink, "message").at(0), messages[0]);
}

TEST_F(ChatServiceTest, MessageIdsIncrease) {
    const auto alice = connect_new("alice");
    std::int64_t last = 0;
    for (int i = 0; i < 5; ++i) {
        const auto ack =
            send_and_ack(alice, "general", "m" + std::to_string(i), "c-" + std::to_string(i));
        const auto id = ack.at("id").as_int64();
        EXPECT_GT(id, last);
        last = id;
    }
}

TEST_F(ChatServiceTest, ARetriedClientMsgIdIsStoredAndDeliveredOnceAndAckedAsDuplicate) {
    const auto alice = connect_new("alice");
    const auto bob = connect_new("bob");
    const auto first = send_and_ack(alice, "general", "once", "retry-1");
    const auto second = send_and_ack(alice, "general", "once", "retry-1");

    EXPECT_EQ(first.at("duplicate"), json::value(false));
    EXPECT_EQ(second.at("duplicate"), json::value(true));
    EXPECT_EQ(second.at("id"), first.at("id"));
    EXPECT_EQ(frames_of_type(*bob.sink, "message").size(), 1u);
    EXPECT_EQ(frames_of_type(*alice.sink, "message").size(), 1u);
    EXPECT_EQ(history_ids(alice.identity, "general", {}, {}, 50).size(), 1u);
    EXPECT_EQ(metrics.messages_duplicate.Value(), 1.0);
}

TEST_F(ChatServiceTest, TheSameClientMsgIdFromAnotherUserIsANewMessage) {
    const auto alice = connect_new("alice");
    const auto bob = connect_new("bob");
    const auto a = send_and_ack(alice, "general", "hi", "c-1");
    const auto b = send_and_ack(bob, "general", "hi", "c-1");
    EXPECT_EQ(b.at("duplicate"), json::value(false));
    EXPECT_NE(a.at("id"), b.at("id"));
}

TEST_F(ChatServiceTest, AClientMsgIdReusedInAnotherRoomIsRefusedNotAckedAsTheOtherMessage) {
    const auto alice = connect_new("alice");
    const auto bob = connect_new("bob");
    service->create_room(alice.identity, "rust");
    service->join_room(bob.identity, "rust");
    const auto first = send_and_ack(alice, "general", "in general", "x-1");
    alice.sink->clear();
    bob.sink->clear();

    send(alice, "rust", "in rust", "x-1");
    settle();

    EXPECT_TRUE(frames_of_type(*alice.sink, "ack").empty());
    const auto errors = frames_of_type(*alice.sink, "error");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].at("code"), "client_msg_id_reused");
    EXPECT_EQ(errors[0].at("client_msg_id"), "x-1");
    EXPECT_EQ(bob.sink->frame_count(), 0u);
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="client_msg_id_reused"} 1)"));

    // A retry in the same room is still the idempotent duplicate.
    const auto retry = send_and_ack(alice, "general", "in general", "x-1");
    EXPECT_EQ(retry.at("duplicate"), json::value(true));
    EXPECT_EQ(retry.at("id"), first.at("id"));
}

TEST_F(ChatServiceTest, SendingToARoomTheConnectionIsNotInIsNotMember) {
    const auto alice = connect_new("alice");
    const auto bob = connect_new("bob");
    service->create_room(bob.identity, "rust");
    alice.sink->clear();

    send(alice, "rust", "let me in", "c-7");
    send(alice, "no-such-room", "hello?", "c-8");
    settle();

    const auto errors = frames_of(*alice.sink);
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].at("type"), "error");
    EXPECT_EQ(errors[0].at("code"), "not_member");
    EXPECT_EQ(errors[0].at("client_msg_id"), "c-7");
    EXPECT_EQ(errors[1].at("code"), "not_member");
    EXPECT_TRUE(history_ids(bob.identity, "rust", {}, {}, 50).empty());
}

TEST_F(ChatServiceTest, AMessageOfTheMaximumLengthIsAcceptedAndOneMoreCharacterIsTooLong) {
    const auto alice = connect_new("alice");
    std::string longest;
    for (std::size_t i = 0; i < service->options().max_message_length; ++i) longest += "\xC3\xA9";
    EXPECT_EQ(send_and_ack(alice, "general", longest, "max").at("duplicate"), json::value(false));

    alice.sink->clear();
    send(alice, "general", longest + "x", "max-plus-one");
    settle();
    const auto frames = frames_of(*alice.sink);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].at("type"), "error");
    EXPECT_EQ(frames[0].at("code"), "message_too_long");
    EXPECT_EQ(frames[0].at("client_msg_id"), "max-plus-one");
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="message_length"} 1)"));
}

TEST_F(ChatServiceTest, EmptyOrWhiteSpaceOnlyContentIsEmptyMessageAndNothingIsStored) {
    const auto alice = connect_new("alice");
    alice.sink->clear();
    const std::vector<std::string> blanks{"", " ", "\n\t ", "\xE3\x80\x80", "\xC2\xA0\r\n"};
    for (std::size_t i = 0; i < blanks.size(); ++i) {
        send(alice, "general", blanks[i], "c-" + std::to_string(i));
    }
    settle();
    const auto frames = frames_of(*alice.sink);
    ASSERT_EQ(frames.size(), blanks.size());
    for (std::size_t i = 0; i < blanks.size(); ++i) {
        EXPECT_EQ(frames[i].at("code"), "empty_message");
        EXPECT_EQ(frames[i].at("client_msg_id").as_string(), "c-" + std::to_string(i));
    }
    EXPECT_TRUE(history_ids(alice.identity, "general", {}, {}, 50).empty());
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="empty_message"} 5)"))
        << metrics.serialize();
    // One visible character around the white space is content.
    EXPECT_EQ(send_and_ack(alice, "general", " . ", "c-dot").at("duplicate"), json::value(false));
}

TEST_F(ChatServiceTest, SendingFasterThanTheBurstIsRateLimitedPerUser) {
    auto options = default_options();
    options.rate_burst = 3;
    options.rate_per_second = 0.001;  // no refill during the test
    use_options(options);
    const auto alice = connect_new("alice");
    const auto bob = connect_new("bob");
    alice.sink->clear();

    for (int i = 0; i < 4; ++i) send(alice, "general", "spam", "s-" + std::to_string(i));
    settle();

    EXPECT_EQ(frames_of_type(*alice.sink, "ack").size(), 3u);
    const auto errors = frames_of_type(*alice.sink, "error");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].at("code"), "rate_limited");
    EXPECT_EQ(errors[0].at("client_msg_id"), "s-3");
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="rate"} 1)")) << metrics.serialize();

    EXPECT_EQ(send_and_ack(bob, "general", "not spam", "b-1").at("duplicate"), json::value(false));
}

TEST_F(ChatServiceTest, MalformedFramesGetErrorFramesAndTheSocketStaysUsable) {
    const auto alice = connect_new("alice");
    alice.sink->clear();
    frame(alice, "this is not json");
    frame(alice, R"({"type":"shout"})");
    frame(alice, R"({"type":"send","room":"general","client_msg_id":"c-1"})");
    frame(alice, R"({"type":"ping"})");
    settle();

    const auto frames = frames_of(*alice.sink);
    ASSERT_EQ(frames.size(), 4u);
    EXPECT_EQ(frames[0].at("code"), "invalid_json");
    EXPECT_EQ(frames[1].at("code"), "unknown_type");
    EXPECT_EQ(frames[2].at("code"), "bad_request");
    EXPECT_EQ(frames[2].at("client_msg_id"), "c-1");
    EXPECT_EQ(frames[3], json::parse(R"({"type":"pong"})"));
    EXPECT_FALSE(alice.sink->closed());
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="invalid_json"} 1)"));
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="unknown_type"} 1)"));
}

TEST_F(ChatServiceTest, TypingReachesTheOtherMembersButNotTheTyper) {
    const auto alice = connect_new("alice");
    const auto bob = connect_new("bob");
    alice.sink->clear();
    bob.sink->clear();

    frame(alice, R"({"type":"typing","room":"general"})");

    EXPECT_EQ(alice.sink->frame_count(), 0u);
    const auto frames = frames_of(*bob.sink);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0], json::parse(R"({"type":"typing","room":"general","user_name":"alice"})"));
}

TEST_F(ChatServiceTest, TypingIsCoalescedToOneNoticePerUserPerRoomPerIntervalUntilAMessage) {
    auto options = default_options();
    options.typing_interval = std::chrono::hours(1);  // no second notice within the test
    use_options(options);
    const auto alice = connect_new("alice");
    const auto bob = connect_new("bob");
    service->create_room(alice.identity, "rust");
    service->join_room(bob.identity, "rust");
    alice.sink->clear();
    bob.sink->clear();

    for (int i = 0; i < 20; ++i) frame(alice, R"({"type":"typing","room":"general"})");
    frame(alice, R"({"type":"typing","room":"rust"})");
    EXPECT_EQ(frames_of_type(*bob.sink, "typing").size(), 2u);  // one per room
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="typing_coalesced"} 19)"))
        << metrics.serialize();

    // After a message, the next notice is news (the web client sends one at once).
    send_and_ack(alice, "general", "done typing", "m-1");
    frame(alice, R"({"type":"typing","room":"general"})");
    EXPECT_EQ(frames_of_type(*bob.sink, "typing").size(), 3u);
    EXPECT_EQ(alice.sink->frame_count(), 2u);  // the ack and the message: no error
}

TEST_F(ChatServiceTest, EveryFrameTypeCountsAgainstTheFrameRateAndTheFloodIsClosed) {
    auto options = default_options();
    // Burst 4, no refill; the 4th refusal within a second closes.
    options.frame_limits = chat::FrameGuard::Limits{0.001, 4, 1000, 1000, 3};
    use_options(options);
    const auto alice = connect_new("alice");
    const auto bob = connect_new("bob");
    alice.sink->clear();
    bob.sink->clear();

    frame(alice, R"({"type":"ping"})");
    frame(alice, R"({"type":"typing","room":"general"})");
    frame(alice, "not json");
    send_and_ack(alice, "general", "fourth frame", "m-1");
    EXPECT_EQ(frames_of_type(*alice.sink, "pong").size(), 1u);
    alice.sink->clear();

    // Past the burst, whatever the type: one rate_limited error, then silence, then the close.
    frame(alice, R"({"type":"ping"})");
    frame(alice, R"({"type":"typing","room":"general"})");
    send(alice, "general", "sixth", "m-2");
    settle();
    EXPECT_FALSE(alice.sink->closed());
    frame(alice, "not json");
    const auto errors = frames_of_type(*alice.sink, "error");
    ASSERT_EQ(errors.size(), 1u) << ::testing::PrintToString(alice.sink->texts());
    EXPECT_EQ(errors[0].at("code"), "rate_limited");
    EXPECT_EQ(alice.sink->frame_count(), 1u);
    ASSERT_EQ(alice.sink->closes().size(), 1u);
    EXPECT_EQ(alice.sink->closes()[0].code, CloseCode::Policy);
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="frame_rate"} 4)")) << metrics.serialize();
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="frame_flood"} 1)"));

    // Bob has his own buckets: only the first typing notice and the message reached him.
    EXPECT_EQ(frames_of_type(*bob.sink, "typing").size(), 1u);
    EXPECT_EQ(send_and_ack(bob, "general", "bob is fine", "b-1").at("duplicate"),
              json::value(false));
}

TEST_F(ChatServiceTest, TypingInARoomTheConnectionIsNotInIsNotMember) {
    const auto alice = connect_new("alice");
    const auto bob = connect_new("bob");
    service->create_room(bob.identity, "rust");
    alice.sink->clear();
    bob.sink->clear();

    frame(alice, R"({"type":"typing","room":"rust"})");

    EXPECT_EQ(bob.sink->frame_count(), 0u);
    const auto frames = frames_of(*alice.sink);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].at("code"), "not_member");
}

// ---------------------------------------------------------------------------------------------
// Rooms

TEST_F(ChatServiceTest, CreatingARoomJoinsTheCreatorAndListsIt) {
    const auto alice = sign_up("alice");
    const auto bob = sign_up("bob");
    const auto created = service->create_room(alice, "rust");
    EXPECT_EQ(created, (RoomEntry{"rust", true}));

    EXPECT_EQ(service->me(alice), (chat::Profile{"alice", {"general", "rust"}}));
    EXPECT_EQ(service->list_rooms(alice),
              (std::vector<RoomEntry>{{"general", true}, {"rust", true}}));
    EXPECT_EQ(service->list_rooms(bob),
              (std::vector<RoomEntry>{{"general", true}, {"rust", false}}));
}

TEST_F(ChatServiceTest, CreatingARoomSubscribesTheCreatorsLiveConnections) {
    const auto alice = connect_new("alice");
    service->create_room(alice.identity, "rust");
    EXPECT_EQ(frames_of_type(*alice.sink, "membership").size(), 1u);
    EXPECT_EQ(send_and_ack(alice, "rust", "first!", "c-1").at("room"), "rust");
    EXPECT_EQ(frames_of_type(*alice.sink, "message").size(), 1u);
}

TEST_F(ChatServiceTest, CreatingAnExistingRoomIsRoomExists) {
    const auto alice = sign_up("alice");
    service->create_room(alice, "rust");
    EXPECT_ERROR(service->create_room(alice, "rust"), ErrorCode::RoomExists);
    EXPECT_ERROR(service->create_room(alice, "general"), ErrorCode::RoomExists);
}

TEST_F(ChatServiceTest, CreatingAnInvalidRoomNameIsInvalidRoom) {
    const auto alice = sign_up("alice");
    for (const std::string& room : {std::string("Rust"), std::string(""), std::string("a b"),
                                    std::string("dm:alice:bob"), std::string(49, 'r')}) {
        EXPECT_ERROR(service->create_room(alice, room), ErrorCode::InvalidRoom);
    }
}

TEST_F(ChatServiceTest, JoiningARoomDeliversItToTheUsersLiveConnections) {
    const auto alice = connect_new("alice");
    const auto bob = connect_new("bob");
    service->create_room(alice.identity, "rust");
    alice.sink->clear();

    EXPECT_EQ(service->join_room(bob.identity, "rust"), (RoomEntry{"rust", true}));

    const auto joined =
        json::parse(R"({"type":"membership","room":"rust","user_name":"bob","joined":true})");
    EXPECT_EQ(frames_of_type(*bob.sink, "membership").back(), joined);
    EXPECT_EQ(frames_of_type(*alice.sink, "membership").back(), joined);

    send_and_ack(alice, "rust", "welcome bob", "c-1");
    const auto messages = frames_of_type(*bob.sink, "message");
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0].at("message").at("content"), "welcome bob");
    EXPECT_EQ(send_and_ack(bob, "rust", "thanks", "c-2").at("duplicate"), json::value(false));
}

TEST_F(ChatServiceTest, JoiningAMissingRoomIsRoomNotFound) {
    const auto alice = sign_up("alice");
    EXPECT_ERROR(service->join_room(alice, "nowhere"), ErrorCode::RoomNotFound);
    EXPECT_ERROR(service->join_room(alice, "Nowhere"), ErrorCode::InvalidRoom);
}

TEST_F(ChatServiceTest, JoiningGeneralSucceedsWithoutAnEvent) {
    const auto alice = connect_new("alice");
    alice.sink->clear();
    EXPECT_EQ(service->join_room(alice.identity, "general"), (RoomEntry{"general", true}));
    EXPECT_EQ(alice.sink->frame_count(), 0u);
}

TEST_F(ChatServiceTest, LeavingARoomTellsTheRoomAndStopsDelivery) {
    const auto alice = connect_new("alice");
    const auto bob = connect_new("bob");
    service->create_room(alice.identity, "rust");
    service->join_room(bob.identity, "rust");

    EXPECT_EQ(service->leave_room(bob.identity, "rust"), (RoomEntry{"rust", false}));

    const auto left =
        json::parse(R"({"type":"membership","room":"rust","user_name":"bob","joined":false})");
    EXPECT_EQ(frames_of_type(*bob.sink, "membership").back(), left);
    EXPECT_EQ(frames_of_type(*alice.sink, "membership").back(), left);

    send_and_ack(alice, "rust", "bob left", "c-1");
    EXPECT_TRUE(frames_of_type(*bob.sink, "message").empty());
    bob.sink->clear();
    send(bob, "rust", "can I still write?", "c-2");
    settle();
    EXPECT_EQ(frames_of(*bob.sink).at(0).at("code"), "not_member");
    EXPECT_ERROR(service->history(bob.identity, "rust", {}, {}, 50), ErrorCode::NotMember);
}

TEST_F(ChatServiceTest, NobodyCanLeaveGeneral) {
    const auto alice = sign_up("alice");
    EXPECT_ERROR(service->leave_room(alice, "general"), ErrorCode::CannotLeaveGeneral);
}

TEST_F(ChatServiceTest, LeavingAMissingRoomIsRoomNotFound) {
    const auto alice = sign_up("alice");
    EXPECT_ERROR(service->leave_room(alice, "nowhere"), ErrorCode::RoomNotFound);
}

// ---------------------------------------------------------------------------------------------
// Direct conversations

TEST_F(ChatServiceTest, OpeningADirectConversationMakesBothUsersMembersAndDeliversToBoth) {
    const auto bob = connect_new("bob");
    const auto alice = connect_new("alice");
    const auto carol = connect_new("carol");
    bob.sink->clear();
    alice.sink->clear();
    carol.sink->clear();

    const auto opened = service->open_direct(bob.identity, "alice");
    EXPECT_EQ(opened, "dm:alice:bob");
    EXPECT_EQ(service->rooms_of("alice"), (std::vector<std::string>{"general", "dm:alice:bob"}));
    EXPECT_EQ(service->rooms_of("bob"), (std::vector<std::string>{"general", "dm:alice:bob"}));
    EXPECT_FALSE(frames_of_type(*alice.sink, "membership").empty());
    EXPECT_FALSE(frames_of_type(*bob.sink, "membership").empty());

    send_and_ack(bob, "dm:alice:bob", "psst", "c-1");
    send_and_ack(alice, "dm:alice:bob", "what?", "c-2");
    EXPECT_EQ(frames_of_type(*alice.sink, "message").size(), 2u);
    EXPECT_EQ(frames_of_type(*bob.sink, "message").size(), 2u);
    EXPECT_EQ(carol.sink->frame_count(), 0u);

    EXPECT_EQ(history_ids(alice.identity, "dm:alice:bob", {}, {}, 50).size(), 2u);
    EXPECT_ERROR(service->history(carol.identity, "dm:alice:bob", {}, {}, 50),
                 ErrorCode::NotMember);
    send(carol, "dm:alice:bob", "let me in", "c-3");
    settle();
    EXPECT_EQ(frames_of(*carol.sink).at(0).at("code"), "not_member");
}

TEST_F(ChatServiceTest, OpeningTheSameDirectConversationAgainChangesNothing) {
    const auto alice = connect_new("alice");
    const auto bob = sign_up("bob");
    service->open_direct(alice.identity, "bob");
    alice.sink->clear();
    EXPECT_EQ(service->open_direct(bob, "alice"), "dm:alice:bob");
    EXPECT_EQ(alice.sink->frame_count(), 0u);
}

TEST_F(ChatServiceTest, DirectConversationsAreNotJoinableByNameNorListed) {
    const auto alice = sign_up("alice");
    sign_up("bob");
    const auto carol = sign_up("carol");
    service->open_direct(alice, "bob");
    EXPECT_ERROR(service->join_room(carol, "dm:alice:bob"), ErrorCode::Forbidden);
    EXPECT_EQ(service->list_rooms(alice), (std::vector<RoomEntry>{{"general", true}}));
}

TEST_F(ChatServiceTest, OpeningADirectConversationWithAnUnknownOrInvalidUserFails) {
    const auto alice = sign_up("alice");
    EXPECT_ERROR(service->open_direct(alice, "nobody"), ErrorCode::UserNotFound);
    EXPECT_ERROR(service->open_direct(alice, "no body"), ErrorCode::InvalidName);
}

// ---------------------------------------------------------------------------------------------
// History

class ChatServiceHistoryTest : public ChatServiceTest {
  protected:
    void SetUp() override {
        ChatServiceTest::SetUp();
        alice = connect_new("alice");
        for (int i = 1; i <= 5; ++i) {
            const auto ack =
                send_and_ack(alice, "general", "m" + std::to_string(i), "c-" + std::to_string(i));
            ids.push_back(ack.at("id").as_int64());
        }
    }
    std::vector<model::MessageId> ids_at(std::initializer_list<std::size_t> positions) {
        std::vector<model::MessageId> out;
        for (const auto position : positions) out.push_back(ids.at(position));
        return out;
    }
    Client alice;
    std::vector<model::MessageId> ids;  // oldest first
};

TEST_F(ChatServiceHistoryTest, AllMessagesFitInOnePageInAscendingOrder) {
    bool has_more = true;
    EXPECT_EQ(history_ids(alice.identity, "general", {}, {}, 50, &has_more), ids);
    EXPECT_FALSE(has_more);
    EXPECT_EQ(history_ids(alice.identity, "general", {}, {}, 5, &has_more), ids);
    EXPECT_FALSE(has_more);
}

TEST_F(ChatServiceHistoryTest, WithoutACursorThePageIsTheNewestMessages) {
    bool has_more = false;
    EXPECT_EQ(history_ids(alice.identity, "general", {}, {}, 2, &has_more), ids_at({3, 4}));
    EXPECT_TRUE(has_more);
}

TEST_F(ChatServiceHistoryTest, BeforePagesTowardsOlderMessages) {
    bool has_more = false;
    EXPECT_EQ(history_ids(alice.identity, "general", ids[3], {}, 2, &has_more), ids_at({1, 2}));
    EXPECT_TRUE(has_more);
    EXPECT_EQ(history_ids(alice.identity, "general", ids[1], {}, 2, &has_more), ids_at({0}));
    EXPECT_FALSE(has_more);
}

TEST_F(ChatServiceHistoryTest, AfterPagesTowardsNewerMessages) {
    bool has_more = false;
    EXPECT_EQ(history_ids(alice.identity, "general", {}, ids[0], 2, &has_more), ids_at({1, 2}));
    EXPECT_TRUE(has_more);
    EXPECT_EQ(history_ids(alice.identity, "general", {}, ids[2], 2, &has_more), ids_at({3, 4}));
    EXPECT_FALSE(has_more);
    EXPECT_TRUE(history_ids(alice.identity, "general", {}, ids[4], 2, &has_more).empty());
    EXPECT_FALSE(has_more);
}

TEST_F(ChatServiceHistoryTest, HistoryMessagesCarryTheirContentKeyAndPreviousId) {
    const auto page = service->history(alice.identity, "general", {}, {}, 1);
    ASSERT_EQ(page.messages.size(), 1u);
    const auto& message = page.messages[0];
    EXPECT_EQ(message.content, "m5");
    EXPECT_EQ(message.client_msg_id, "c-5");
    EXPECT_EQ(message.prev_id, ids[3]);  // m4
}

TEST_F(ChatServiceHistoryTest, LimitMustBeOneToFiveHundred) {
    EXPECT_ERROR(service->history(alice.identity, "general", {}, {}, 0), ErrorCode::BadRequest);
    EXPECT_ERROR(service->history(alice.identity, "general", {}, {}, 501), ErrorCode::BadRequest);
    EXPECT_ERROR(service->history(alice.identity, "general", {}, {}, -1), ErrorCode::BadRequest);
    EXPECT_NO_THROW(service->history(alice.identity, "general", {}, {}, 1));
    EXPECT_NO_THROW(service->history(alice.identity, "general", {}, {}, 500));
}

TEST_F(ChatServiceHistoryTest, BeforeAndAfterTogetherIsBadRequest) {
    EXPECT_ERROR(service->history(alice.identity, "general", ids[3], ids[1], 10),
                 ErrorCode::BadRequest);
}

TEST_F(ChatServiceHistoryTest, MissingOrInvalidRoomsAreRefused) {
    EXPECT_ERROR(service->history(alice.identity, "nowhere", {}, {}, 10), ErrorCode::RoomNotFound);
    EXPECT_ERROR(service->history(alice.identity, "No Where", {}, {}, 10), ErrorCode::InvalidRoom);
}

TEST_F(ChatServiceHistoryTest, APublicRoomIsReadableByMembersOnly) {
    const auto bob = sign_up("bob");
    service->create_room(bob, "rust");
    EXPECT_ERROR(service->history(alice.identity, "rust", {}, {}, 10), ErrorCode::NotMember);
    EXPECT_NO_THROW(service->history(bob, "rust", {}, {}, 10));
    EXPECT_NO_THROW(service->history(bob, "general", {}, {}, 10));
}

// ---------------------------------------------------------------------------------------------
// Seed API

TEST_F(ChatServiceTest, PostSeedStoresIntoGeneralAndDeliversSeedFramesToSeedConnections) {
    const auto seed = connect(Identity{"dave", "seed-session"}, Protocol::Seed);
    const auto native = connect_new("alice");
    seed.sink->clear();
    native.sink->clear();

    EXPECT_FALSE(post_seed("bob", "hello from the seed API", "01/02/2026 10:00:00").has_value());
    EXPECT_FALSE(post_seed("bob", "no time given").has_value());

    const auto seed_frames = frames_of(*seed.sink);
    ASSERT_EQ(seed_frames.size(), 2u);
    EXPECT_EQ(seed_frames[0], json::parse(R"({"content":"hello from the seed API",
                                              "user_name":"bob",
                                              "sent_at":"01/02/2026 10:00:00"})"));
    EXPECT_EQ(keys_of(seed_frames[1]), (std::set<std::string>{"content", "user_name", "sent_at"}));
    EXPECT_EQ(seed_frames[1].at("sent_at").as_string().size(),
              std::string("DD/MM/YYYY HH:MM:SS").size());

    const auto native_messages = frames_of_type(*native.sink, "message");
    ASSERT_EQ(native_messages.size(), 2u);
    EXPECT_EQ(native_messages[0].at("message").at("room"), "general");

    const auto page = service->history(native.identity, "general", {}, {}, 50);
    ASSERT_EQ(page.messages.size(), 2u);
    EXPECT_EQ(page.messages[0].user_name, "bob");
    EXPECT_EQ(page.messages[0].sent_at, "01/02/2026 10:00:00");
}

TEST_F(ChatServiceTest, PostSeedConnectionMessageIsStoredAsAJoin) {
    const auto native = connect_new("alice");
    EXPECT_FALSE(post_seed("bob", std::string(chat::kConnectionMessage)).has_value());
    const auto messages = frames_of_type(*native.sink, "message");
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0].at("message").at("kind"), "join");
}

TEST_F(ChatServiceTest, PostSeedDisconnectionMessageClosesTheSendersSeedStreams) {
    const auto bob_seed1 = connect(Identity{"bob", ""}, Protocol::Seed);
    const auto bob_seed2 = connect(Identity{"bob", ""}, Protocol::Seed);
    const auto bob_native = connect_new("bob");
    const auto dave_seed = connect(Identity{"dave", ""}, Protocol::Seed);

    EXPECT_FALSE(post_seed("bob", std::string(chat::kDisconnectionMessage)).has_value());

    for (const auto* seed : {&bob_seed1, &bob_seed2}) {
        const auto closes = seed->sink->closes();
        ASSERT_EQ(closes.size(), 1u);
        EXPECT_EQ(closes[0].code, CloseCode::Normal);
    }
    EXPECT_FALSE(bob_native.sink->closed());
    EXPECT_FALSE(dave_seed.sink->closed());
    EXPECT_EQ(frames_of(*dave_seed.sink).back().at("content"), "DISCONNECTION_MESSAGE");
    const auto messages = frames_of_type(*bob_native.sink, "message");
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0].at("message").at("kind"), "leave");
}

TEST_F(ChatServiceTest, PostSeedRefusesEmptyOrTooLongContentWithoutStoringIt) {
    const auto empty = post_seed("bob", "");
    ASSERT_TRUE(empty.has_value());
    EXPECT_EQ(empty->code, ErrorCode::BadRequest);
    const auto too_long =
        post_seed("bob", std::string(service->options().max_message_length + 1, 'x'));
    ASSERT_TRUE(too_long.has_value());
    EXPECT_EQ(too_long->code, ErrorCode::MessageTooLong);
    EXPECT_TRUE(history_ids(sign_up("alice"), "general", {}, {}, 50).empty());
}

}  // namespace
