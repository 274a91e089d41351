// ChatService against the real SQLite store, the real local bus and a real hub: a message goes
// through the store's group commit, the bus and the hub's fan-out exactly as in production.
#include "chat/service.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>
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

TEST_F(ChatServiceTest, SessionsListsTheUsersDevicesNewestFirstWithTheCallersMarkedCurrent) {
    auto options = default_options();
    // Each sign-in a millisecond later, so that "newest first" has one answer.
    options.clock = [tick = std::int64_t{0}]() mutable { return model::now_ms() + tick++; };
    use_options(options);
    const auto desktop = identity_from(
        service->register_user("alice", kPassword, "192.0.2.1", "Desktop Browser/1.0"));
    const auto phone =
        identity_from(service->login("alice", kPassword, "192.0.2.2", "Phone Browser/2.0"));
    service->register_user("bob", kPassword, "192.0.2.3", "Bob's Browser");

    const auto listed = service->sessions(phone);
    ASSERT_EQ(listed.size(), 2u);  // bob's session is not alice's
    EXPECT_EQ(listed[0].user_agent, "Phone Browser/2.0");
    EXPECT_EQ(listed[0].address, "192.0.2.2");
    EXPECT_TRUE(listed[0].current);
    EXPECT_EQ(listed[1].user_agent, "Desktop Browser/1.0");
    EXPECT_FALSE(listed[1].current);
    EXPECT_GE(listed[0].created_ms, listed[1].created_ms);
    EXPECT_GT(listed[0].expires_ms, listed[0].created_ms);
    EXPECT_NE(listed[0].id, listed[1].id);
    // The public id is neither the token nor its hash.
    EXPECT_NE(listed[1].id, desktop.session);
    EXPECT_TRUE(service->sessions(desktop)[1].current);
}

TEST_F(ChatServiceTest, RevokingASessionEndsItAndClosesOnlyItsConnections) {
    const auto desktop_session = service->register_user("alice", kPassword);
    const auto desktop = identity_from(desktop_session);
    const auto phone = identity_from(service->login("alice", kPassword));
    const auto bob = identity_from(service->register_user("bob", kPassword));
    const auto on_desktop = connect(desktop);
    const auto on_phone = connect(phone);

    std::string desktop_id;
    for (const auto& entry : service->sessions(phone)) {
        if (!entry.current) desktop_id = entry.id;
    }
    ASSERT_FALSE(desktop_id.empty());

    // Nobody else can end it, and an unknown id is not found.
    EXPECT_ERROR(service->revoke_session(bob, desktop_id), ErrorCode::NotFound);
    EXPECT_ERROR(service->revoke_session(phone, "no-such-id"), ErrorCode::NotFound);
    EXPECT_TRUE(service->authenticate(desktop_session.token).has_value());
    EXPECT_FALSE(on_desktop.sink->closed());

    service->revoke_session(phone, desktop_id);

    EXPECT_FALSE(service->authenticate(desktop_session.token).has_value());
    const auto closes = on_desktop.sink->closes();
    ASSERT_EQ(closes.size(), 1u);
    EXPECT_EQ(closes[0].code, CloseCode::Policy);
    EXPECT_FALSE(on_phone.sink->closed());
    ASSERT_EQ(service->sessions(phone).size(), 1u);
    EXPECT_ERROR(service->revoke_session(phone, desktop_id), ErrorCode::NotFound);  // once only
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
    EXPECT_EQ(presence[0], json::parse(R"({"type":"presence","user_name":"alice","online":true,)"
                                       R"("status":"online"})"));
    EXPECT_EQ(presence[1], json::parse(R"({"type":"presence","user_name":"alice","online":false,)"
                                       R"("status":"offline"})"));
    EXPECT_EQ(service->online_users(), (std::vector<std::string>{"bob"}));
    EXPECT_TRUE(metric_has("chat_users_online 1")) << metrics.serialize();
}

// Away status (docs/protocol.md "Away"): the `status` of each presence frame bob receives.
std::vector<std::string> statuses_of(const RecordingSink& sink) {
    std::vector<std::string> out;
    for (const auto& frame : frames_of_type(sink, "presence")) {
        out.emplace_back(frame.at("user_name").as_string().c_str() + std::string(":") +
                         frame.at("status").as_string().c_str());
    }
    return out;
}

TEST_F(ChatServiceTest, AUserIsAwayOnceEveryConnectionOfTheirsIsAwayAndBackWithOne) {
    const auto bob = connect_new("bob");
    const auto alice_identity = sign_up("alice");
    const auto alice1 = connect(alice_identity);
    const auto alice2 = connect(alice_identity);
    bob.sink->clear();

    frame(alice1, R"({"type":"status","status":"away"})");
    EXPECT_TRUE(statuses_of(*bob.sink).empty());  // alice2 is still active
    EXPECT_EQ(service->availability("alice"), model::Availability::Online);
    frame(alice2, R"({"type":"status","status":"away"})");
    EXPECT_EQ(statuses_of(*bob.sink), std::vector<std::string>{"alice:away"});
    EXPECT_EQ(service->availability("alice"), model::Availability::Away);
    EXPECT_EQ(service->away_users(), std::vector<std::string>{"alice"});
    EXPECT_TRUE(metric_has("chat_users_away 1")) << metrics.serialize();
    // The directory and a new connection's welcome say so too.
    EXPECT_EQ(service->people().card("alice").status, chat::PersonStatus::Away);
    const auto welcome = json::parse(*service->welcome("bob", {"general"}));
    EXPECT_EQ(welcome.at("away"), json::parse(R"(["alice"])"));

    frame(alice2, R"({"type":"status","status":"away"})");  // no change, no frame
    frame(alice1, R"({"type":"status","status":"active"})");
    EXPECT_EQ(statuses_of(*bob.sink), (std::vector<std::string>{"alice:away", "alice:online"}));
    EXPECT_EQ(service->people().card("alice").status, chat::PersonStatus::Online);
    EXPECT_TRUE(metric_has("chat_users_away 0")) << metrics.serialize();
    // Nothing goes back to the sender.
    EXPECT_TRUE(frames_of_type(*alice1.sink, "error").empty());
}

TEST_F(ChatServiceTest, ClosingTheLastActiveConnectionLeavesTheUserAway) {
    const auto bob = connect_new("bob");
    const auto alice_identity = sign_up("alice");
    const auto away = connect(alice_identity);
    const auto active = connect(alice_identity);
    frame(away, R"({"type":"status","status":"away"})");
    bob.sink->clear();

    service->disconnect(active.id, "alice");
    EXPECT_EQ(statuses_of(*bob.sink), std::vector<std::string>{"alice:away"});
    EXPECT_EQ(service->availability("alice"), model::Availability::Away);
    // A new connection starts active: the user is back.
    const auto fresh = connect(alice_identity);
    EXPECT_EQ(statuses_of(*bob.sink), (std::vector<std::string>{"alice:away", "alice:online"}));
    frame(fresh, R"({"type":"status","status":"away"})");
    service->disconnect(fresh.id, "alice");
    service->disconnect(away.id, "alice");
    EXPECT_EQ(statuses_of(*bob.sink), (std::vector<std::string>{"alice:away", "alice:online",
                                                                "alice:away", "alice:offline"}));
    EXPECT_TRUE(metric_has("chat_users_away 0")) << metrics.serialize();
}

TEST_F(ChatServiceTest, StatusFramesCountAgainstTheFrameLimitAndARefusedOneChangesNothing) {
    auto options = default_options();
    options.frame_limits = chat::FrameGuard::Limits{0.001, 2, 1000, 1000, 1000};
    use_options(options);
    const auto bob = connect_new("bob");
    const auto alice = connect_new("alice");
    bob.sink->clear();
    alice.sink->clear();
    frame(alice, R"({"type":"status","status":"away"})");
    frame(alice, R"({"type":"status","status":"active"})");
    frame(alice, R"({"type":"status","status":"away"})");  // past the burst
    const auto errors = frames_of_type(*alice.sink, "error");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].at("code"), "rate_limited");
    EXPECT_EQ(service->availability("alice"), model::Availability::Online);
    EXPECT_EQ(statuses_of(*bob.sink), (std::vector<std::string>{"alice:away", "alice:online"}));
}

TEST_F(ChatServiceTest, ABadStatusIsABadRequestAndChangesNothing) {
    const auto bob = connect_new("bob");
    const auto alice = connect_new("alice");
    bob.sink->clear();
    frame(alice, R"({"type":"status","status":"asleep"})");
    const auto errors = frames_of_type(*alice.sink, "error");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].at("code"), "bad_request");
    EXPECT_TRUE(statuses_of(*bob.sink).empty());
    EXPECT_EQ(service->availability("alice"), model::Availability::Online);
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

TEST_F(ChatServiceTest, AStopEndsATypingNoticeOnTheOtherMembersScreensOnce) {
    auto options = default_options();
    options.typing_interval = std::chrono::hours(1);
    use_options(options);
    const auto alice = connect_new("alice");
    const auto bob = connect_new("bob");
    alice.sink->clear();
    bob.sink->clear();

    // A stop with no notice before it has nothing to end.
    frame(alice, R"({"type":"typing_stop","room":"general"})");
    EXPECT_EQ(bob.sink->frame_count(), 0u);

    frame(alice, R"({"type":"typing","room":"general"})");
    frame(alice, R"({"type":"typing_stop","room":"general"})");
    frame(alice, R"({"type":"typing_stop","room":"general"})");
    const auto frames = frames_of(*bob.sink);
    ASSERT_EQ(frames.size(), 2u) << ::testing::PrintToString(bob.sink->texts());
    EXPECT_EQ(frames[0].at("type"), "typing");
    EXPECT_EQ(frames[1],
              json::parse(R"({"type":"typing_stop","room":"general","user_name":"alice"})"));
    EXPECT_EQ(alice.sink->frame_count(), 0u);  // neither echoed nor refused
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="typing_coalesced"} 2)"))
        << metrics.serialize();

    // A message ends the notice itself: a stop after it is dropped.
    send_and_ack(alice, "general", "done", "m-1");
    frame(alice, R"({"type":"typing","room":"general"})");
    send_and_ack(alice, "general", "done again", "m-2");
    bob.sink->clear();
    frame(alice, R"({"type":"typing_stop","room":"general"})");
    EXPECT_EQ(bob.sink->frame_count(), 0u);
}

TEST_F(ChatServiceTest, TypingStopInARoomTheConnectionIsNotInIsNotMember) {
    const auto alice = connect_new("alice");
    const auto bob = connect_new("bob");
    service->create_room(bob.identity, "rust");
    alice.sink->clear();
    bob.sink->clear();

    frame(alice, R"({"type":"typing_stop","room":"rust"})");

    EXPECT_EQ(bob.sink->frame_count(), 0u);
    const auto frames = frames_of(*alice.sink);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].at("code"), "not_member");
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

TEST_F(ChatServiceTest, AGroupConversationIsOneRoomPerSetOfPeopleWhoeverOpensIt) {
    auto alice = connect_new("alice");
    auto bob = connect_new("bob");
    auto carol = connect_new("carol");
    auto dave = connect_new("dave");
    for (auto* who : {&alice, &bob, &carol, &dave}) who->sink->clear();

    // The opener may be named or not; repeats count once; the order does not matter.
    const auto room = service->open_group_direct(bob.identity, {"carol", "alice", "carol"});
    EXPECT_EQ(room, "dm:alice:bob:carol");
    EXPECT_EQ(service->open_group_direct(carol.identity, {"bob", "alice", "carol"}), room);
    for (const auto* member : {&alice, &bob, &carol}) {
        EXPECT_EQ(service->rooms_of(member->identity.user_name),
                  (std::vector<std::string>{"general", room}));
        // Each is told of its own joining (and of those after it).
        EXPECT_FALSE(frames_of_type(*member->sink, "membership").empty());
    }
    // Two people: the 1:1 room.
    EXPECT_EQ(service->open_group_direct(alice.identity, {"bob"}), "dm:alice:bob");

    // Messages, mentions and typing reach the members and nobody else.
    for (auto* who : {&alice, &bob, &carol, &dave}) who->sink->clear();
    send_and_ack(alice, room, "hi @carol", "c-1");
    frame(bob, R"({"type":"typing","room":"dm:alice:bob:carol"})");
    settle();
    EXPECT_EQ(frames_of_type(*carol.sink, "message").size(), 1u);
    EXPECT_EQ(frames_of_type(*carol.sink, "message").at(0).at("message").at("mentions"),
              json::parse(R"(["carol"])"));
    EXPECT_EQ(frames_of_type(*carol.sink, "typing").size(), 1u);
    EXPECT_EQ(frames_of_type(*alice.sink, "typing").size(), 1u);
    EXPECT_EQ(dave.sink->frame_count(), 0u);
    EXPECT_EQ(service->read_states("carol", {room}).at(0).mentions, 1);

    // Invite-only: not listed, not joinable, not readable by others.
    EXPECT_EQ(service->list_rooms(dave.identity), (std::vector<RoomEntry>{{"general", true}}));
    EXPECT_ERROR(service->join_room(dave.identity, room), ErrorCode::Forbidden);
    EXPECT_ERROR(service->history(dave.identity, room, {}, {}, 50), ErrorCode::NotMember);
    send(dave, room, "let me in", "d-1");
    settle();
    EXPECT_EQ(frames_of(*dave.sink).at(0).at("code"), "not_member");
}

TEST_F(ChatServiceTest, AGroupConversationHoldsAtMostMaxGroupDmMembersPeople) {
    auto options = default_options();
    options.max_group_dm_members = 3;
    use_options(options);
    const auto alice = sign_up("alice");
    for (const auto* name : {"bob", "carol", "dave"}) sign_up(name);
    // At the edge: three people, alice included, named or not.
    EXPECT_EQ(service->open_group_direct(alice, {"bob", "carol"}), "dm:alice:bob:carol");
    EXPECT_EQ(service->open_group_direct(alice, {"alice", "bob", "carol", "bob"}),
              "dm:alice:bob:carol");
    // Past it: refused, nothing created (HTTP counts the refusal).
    EXPECT_ERROR(service->open_group_direct(alice, {"bob", "carol", "dave"}),
                 ErrorCode::GroupDmTooLarge);
    EXPECT_EQ(service->rooms_of("dave"), std::vector<std::string>{"general"});
}

TEST_F(ChatServiceTest, AGroupConversationWithAnUnknownInvalidOrNoOtherPersonIsRefused) {
    const auto alice = sign_up("alice");
    sign_up("bob");
    EXPECT_ERROR(service->open_group_direct(alice, {"bob", "nobody"}), ErrorCode::UserNotFound);
    EXPECT_ERROR(service->open_group_direct(alice, {"bob", "no body"}), ErrorCode::InvalidName);
    EXPECT_ERROR(service->open_group_direct(alice, {"bob", "dm:x"}), ErrorCode::InvalidName);
    EXPECT_ERROR(service->open_group_direct(alice, {}), ErrorCode::BadRequest);
    EXPECT_ERROR(service->open_group_direct(alice, {"alice"}), ErrorCode::BadRequest);
    EXPECT_EQ(service->rooms_of("bob"), std::vector<std::string>{"general"});
}

TEST_F(ChatServiceTest, AChangedDisplayNameReachesEveryConnectedUserAsAProfileFrame) {
    auto alice = connect_new("alice");
    auto bob = connect_new("bob");
    alice.sink->clear();
    bob.sink->clear();
    const auto card = service->set_display_name(bob.identity, "  Bob Brown ");
    EXPECT_EQ(card.display_name, "Bob Brown");
    const auto expected = json::parse(
        R"({"type":"profile","person":{"user_name":"bob","display_name":"Bob Brown"}})");
    for (const auto* who : {&alice, &bob}) {
        ASSERT_EQ(frames_of_type(*who->sink, "profile").size(), 1u);
        EXPECT_EQ(frames_of_type(*who->sink, "profile").at(0), expected);
    }
    // A refused name changes nothing and tells nobody.
    EXPECT_ERROR(service->set_display_name(bob.identity, std::string(65, 'x')),
                 ErrorCode::DisplayNameTooLong);
    EXPECT_EQ(frames_of_type(*alice.sink, "profile").size(), 1u);
    EXPECT_EQ(service->people().card("bob").display_name, "Bob Brown");
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

// ---------------------------------------------------------------------------------------------
// Room events: edits, deletes, reactions and replies, each a row of the room's log on the send
// path, checked by the store's rules in the commit.

class ChatServiceRoomEventsTest : public ChatServiceTest {
  protected:
    void SetUp() override {
        ChatServiceTest::SetUp();
        auto options = default_options();
        options.clock = [this] { return now_ms; };
        use_options(options);
        alice = connect_new("alice");
        bob = connect_new("bob");
        root = send_and_ack(alice, "general", "hi everyone", "a-root").at("id").as_int64();
        settle();
        alice.sink->clear();
        bob.sink->clear();
    }

    // Replaces the options, keeping the fake clock.
    void use_room_options(ServiceOptions options) {
        options.clock = [this] { return now_ms; };
        use_options(std::move(options));
    }

    // An edit, delete, react or unreact frame: `text` is an edit's content or a reaction's emoji.
    void change(const Client& client,
                std::string_view type,
                model::MessageId target,
                std::string_view text,
                std::string_view client_msg_id,
                std::string_view room = "general") {
        json::object frame_object{
            {"type", type}, {"room", room}, {"id", target}, {"client_msg_id", client_msg_id}};
        if (type == "edit") frame_object["content"] = text;
        if (type == "react" || type == "unreact") frame_object["emoji"] = text;
        frame(client, json::serialize(frame_object));
    }

    void reply(const Client& client,
               model::MessageId parent,
               std::string_view content,
               std::string_view client_msg_id,
               std::string_view room = "general") {
        frame(client, json::serialize(json::object{{"type", "send"},
                                                   {"room", room},
                                                   {"content", content},
                                                   {"client_msg_id", client_msg_id},
                                                   {"reply_to", parent}}));
    }

    // The one frame `client` got since the last clear, which must be an error with this code and
    // client_msg_id; then nothing of the room changed.
    void expect_refused(const Client& client,
                        std::string_view code,
                        std::string_view client_msg_id) {
        settle();
        const auto frames = frames_of(*client.sink);
        ASSERT_EQ(frames.size(), 1u) << ::testing::PrintToString(client.sink->texts());
        EXPECT_EQ(frames[0].at("type"), "error");
        EXPECT_EQ(frames[0].at("code"), json::value(code));
        EXPECT_EQ(frames[0].at("client_msg_id"), json::value(client_msg_id));
        client.sink->clear();
    }

    chat::FoundMessage found(model::MessageId id) {
        return service->find_message(alice.identity, "general", id);
    }

    // The room's highest id: a refused change must leave it where it was.
    model::MessageId room_as_of() {
        return service->history(alice.identity, "general", {}, {}, 1).as_of;
    }

    std::int64_t now_ms = 1795816277000;
    Client alice;
    Client bob;
    model::MessageId root = 0;
};

TEST_F(ChatServiceRoomEventsTest, AnEditIsAckedThenDeliveredToEveryMemberAndFoldedIntoReads) {
    now_ms += 2000;
    change(alice, "edit", root, "hi all", "a-edit");
    settle();

    EXPECT_EQ(types_of(*alice.sink), (std::vector<std::string>{"ack", "message"}));
    const auto ack = frames_of(*alice.sink).at(0);
    EXPECT_EQ(ack.at("client_msg_id"), "a-edit");
    EXPECT_EQ(ack.at("duplicate"), json::value(false));
    const auto edits = frames_of_type(*bob.sink, "message");
    ASSERT_EQ(edits.size(), 1u);
    const auto& edit = edits[0].at("message");
    EXPECT_EQ(edit.at("id"), ack.at("id"));
    EXPECT_EQ(edit.at("kind"), "edit");
    EXPECT_EQ(edit.at("target_id"), json::value(root));
    EXPECT_EQ(edit.at("prev_id"), json::value(root));
    EXPECT_EQ(edit.at("content"), "hi all");
    EXPECT_EQ(edit.at("user_name"), "alice");

    const auto message = found(root);
    EXPECT_EQ(message.message.content, "hi all");
    EXPECT_EQ(message.message.edited_ms, now_ms);
    EXPECT_EQ(message.as_of, ack.at("id").as_int64());
    const auto page = service->history(bob.identity, "general", {}, {}, 50);
    ASSERT_EQ(page.messages.size(), 1u) << "change rows are not rows of a newest page";
    EXPECT_EQ(page.messages[0].content, "hi all");
    EXPECT_EQ(page.as_of, ack.at("id").as_int64());
}

TEST_F(ChatServiceRoomEventsTest, ADeleteLeavesATombstoneAndAnAfterPageBringsTheChangeRows) {
    change(bob, "react", root, "\xF0\x9F\x91\x8D", "b-react");
    change(alice, "edit", root, "hi all", "a-edit");
    change(alice, "delete", root, "", "a-delete");
    settle();
    EXPECT_EQ(frames_of_type(*alice.sink, "ack").size(), 2u);
    const auto deletes = frames_of_type(*bob.sink, "message");
    ASSERT_EQ(deletes.size(), 3u);
    EXPECT_EQ(deletes[2].at("message").at("kind"), "delete");
    EXPECT_EQ(deletes[2].at("message").at("content"), "");

    const auto message = found(root).message;
    EXPECT_TRUE(message.deleted);
    EXPECT_EQ(message.content, "");
    EXPECT_TRUE(message.reactions.empty());

    const auto after = service->history(bob.identity, "general", {}, root, 50);
    ASSERT_EQ(after.messages.size(), 3u);
    EXPECT_EQ(after.messages[0].kind, model::MessageKind::React);
    EXPECT_EQ(after.messages[1].kind, model::MessageKind::Edit);
    EXPECT_EQ(after.messages[1].content, "") << "a deleted message's text is gone from its edits";
    EXPECT_EQ(after.messages[2].kind, model::MessageKind::Delete);
    EXPECT_EQ(after.as_of, after.messages[2].id);
    EXPECT_FALSE(after.has_more);
}

TEST_F(ChatServiceRoomEventsTest, ReactionsAreAddedAndRemovedPerUserAndARepeatChangesNothing) {
    const std::string thumbs = "\xF0\x9F\x91\x8D";
    change(bob, "react", root, thumbs, "b-1");
    change(alice, "react", root, thumbs, "a-1");
    change(bob, "react", root, thumbs, "b-2");  // a repeat: stored, changes nothing
    settle();
    EXPECT_EQ(frames_of_type(*bob.sink, "ack").size(), 2u);
    auto message = found(root).message;
    ASSERT_EQ(message.reactions.size(), 1u);
    EXPECT_EQ(message.reactions[0].emoji, thumbs);
    EXPECT_EQ(message.reactions[0].users, (std::vector<std::string>{"bob", "alice"}));

    change(bob, "unreact", root, thumbs, "b-3");
    settle();
    message = found(root).message;
    ASSERT_EQ(message.reactions.size(), 1u);
    EXPECT_EQ(message.reactions[0].users, (std::vector<std::string>{"alice"}));
    const auto unreacts = frames_of_type(*alice.sink, "message");
    EXPECT_EQ(unreacts.back().at("message").at("kind"), "unreact");
    EXPECT_EQ(unreacts.back().at("message").at("content"), json::value(thumbs));
}

TEST_F(ChatServiceRoomEventsTest, AReplyNamesItsRootAndAReplyToAReplyJoinsTheSameThread) {
    now_ms += 1000;
    reply(bob, root, "yes", "b-reply");
    settle();
    const auto first = frames_of_type(*alice.sink, "message").at(0).at("message");
    EXPECT_EQ(first.at("kind"), "text");
    EXPECT_EQ(first.at("reply_to"), json::value(root));
    const auto first_id = first.at("id").as_int64();

    now_ms += 1000;
    reply(alice, first_id, "and me", "a-reply");
    settle();
    const auto second = frames_of_type(*bob.sink, "message").at(1).at("message");
    EXPECT_EQ(second.at("reply_to"), json::value(root)) << "threads are one level deep";

    const auto message = found(root).message;
    EXPECT_EQ(message.reply_count, 2);
    EXPECT_EQ(message.last_reply_ms, now_ms);
    const auto thread = service->replies(bob.identity, "general", root, {}, {}, 50);
    ASSERT_EQ(thread.messages.size(), 2u);
    EXPECT_EQ(thread.messages[0].id, first_id);
    EXPECT_EQ(thread.messages[1].content, "and me");
    EXPECT_FALSE(thread.has_more);
    EXPECT_EQ(thread.as_of, second.at("id").as_int64());

    // A deleted reply is counted off its root; its delete row names the root.
    change(bob, "delete", first_id, "", "b-delete");
    settle();
    const auto deleted = frames_of_type(*alice.sink, "message").back().at("message");
    EXPECT_EQ(deleted.at("kind"), "delete");
    EXPECT_EQ(deleted.at("reply_to"), json::value(root));
    EXPECT_EQ(found(root).message.reply_count, 1);
}

TEST_F(ChatServiceRoomEventsTest, RepliesArePagedLikeHistory) {
    std::vector<model::MessageId> replies;
    for (int i = 0; i < 5; ++i) {
        reply(bob, root, "r" + std::to_string(i), "b-" + std::to_string(i));
        settle();
        replies.push_back(frames_of_type(*bob.sink, "ack").back().at("id").as_int64());
    }
    send_and_ack(alice, "general", "not in the thread", "a-other");
    const auto newest = service->replies(alice.identity, "general", root, {}, {}, 2);
    ASSERT_EQ(newest.messages.size(), 2u);
    EXPECT_EQ(newest.messages[0].id, replies[3]);
    EXPECT_EQ(newest.messages[1].id, replies[4]);
    EXPECT_TRUE(newest.has_more);
    const auto older = service->replies(alice.identity, "general", root, replies[3], {}, 2);
    ASSERT_EQ(older.messages.size(), 2u);
    EXPECT_EQ(older.messages[0].id, replies[1]);
    EXPECT_TRUE(older.has_more);
    const auto newer = service->replies(alice.identity, "general", root, {}, replies[2], 5);
    ASSERT_EQ(newer.messages.size(), 2u);
    EXPECT_EQ(newer.messages[0].id, replies[3]);
    EXPECT_FALSE(newer.has_more);
    EXPECT_ERROR(service->replies(alice.identity, "general", root, 1, 1, 5), ErrorCode::BadRequest);
    EXPECT_ERROR(service->replies(alice.identity, "general", root, {}, {}, 501),
                 ErrorCode::BadRequest);
}

TEST_F(ChatServiceRoomEventsTest, OneMessageOrAThreadOfAnUnknownIdOrAChangeRowIsMessageNotFound) {
    change(alice, "edit", root, "hi all", "a-edit");
    settle();
    const auto edit_id = frames_of_type(*alice.sink, "ack").at(0).at("id").as_int64();
    for (const model::MessageId id : {edit_id, edit_id + 1000, model::MessageId{0}}) {
        EXPECT_ERROR(found(id), ErrorCode::MessageNotFound);
        EXPECT_ERROR(service->replies(alice.identity, "general", id, {}, {}, 50),
                     ErrorCode::MessageNotFound);
    }
    service->create_room(alice.identity, "rust");
    EXPECT_ERROR(service->find_message(alice.identity, "rust", root), ErrorCode::MessageNotFound);
    EXPECT_ERROR(service->find_message(bob.identity, "rust", root), ErrorCode::NotMember);
    EXPECT_ERROR(service->replies(bob.identity, "rust", root, {}, {}, 50), ErrorCode::NotMember);
    EXPECT_ERROR(service->find_message(bob.identity, "nowhere", root), ErrorCode::RoomNotFound);
}

TEST_F(ChatServiceRoomEventsTest, EveryRuleRefusalHasItsCodeCountsAndChangesNothing) {
    service->create_room(bob.identity, "rust");
    const auto rust = connect(bob.identity);
    const auto foreign = send_and_ack(rust, "rust", "elsewhere", "b-rust").at("id").as_int64();
    ASSERT_FALSE(post_seed("carol", std::string(chat::kConnectionMessage)).has_value());
    const auto join_id = room_as_of();  // a join notice is no Text message
    settle();
    alice.sink->clear();
    bob.sink->clear();
    const auto before = room_as_of();

    change(bob, "edit", root, "mine now", "b-1");
    expect_refused(bob, "not_author", "b-1");
    change(bob, "delete", root, "", "b-2");
    expect_refused(bob, "not_author", "b-2");
    for (const model::MessageId missing : {root + 1000, foreign, join_id}) {
        change(alice, "edit", missing, "x", "a-1");
        expect_refused(alice, "message_not_found", "a-1");
        change(alice, "react", missing, "\xF0\x9F\x91\x8D", "a-2");
        expect_refused(alice, "message_not_found", "a-2");
        reply(alice, missing, "x", "a-3");
        expect_refused(alice, "message_not_found", "a-3");
    }
    EXPECT_EQ(found(root).message.content, "hi everyone");
    EXPECT_EQ(room_as_of(), before);

    change(alice, "delete", root, "", "a-delete");
    settle();
    alice.sink->clear();
    bob.sink->clear();
    const auto deleted_at = room_as_of();
    change(alice, "edit", root, "back", "a-4");
    expect_refused(alice, "message_deleted", "a-4");
    change(alice, "delete", root, "", "a-5");
    expect_refused(alice, "message_deleted", "a-5");
    change(bob, "react", root, "\xF0\x9F\x91\x8D", "b-3");
    expect_refused(bob, "message_deleted", "b-3");
    change(bob, "unreact", root, "\xF0\x9F\x91\x8D", "b-4");
    expect_refused(bob, "message_deleted", "b-4");
    reply(bob, root, "too late", "b-5");
    expect_refused(bob, "message_deleted", "b-5");
    EXPECT_EQ(room_as_of(), deleted_at);
    EXPECT_TRUE(frames_of_type(*alice.sink, "message").empty()) << "a refusal publishes nothing";

    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="not_author"} 2)")) << metrics.serialize();
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="message_not_found"} 9)"));
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="message_deleted"} 5)"));
    EXPECT_TRUE(metric_has("chat_store_errors_total 0")) << "a refusal is no store failure";
}

TEST_F(ChatServiceRoomEventsTest, AChangeInARoomTheConnectionIsNotInIsNotMember) {
    service->create_room(bob.identity, "rust");
    const auto rust = connect(bob.identity);
    const auto id = send_and_ack(rust, "rust", "members only", "b-rust").at("id").as_int64();
    alice.sink->clear();
    for (const char* type : {"edit", "delete", "react", "unreact"}) {
        change(alice, type, id, "\xF0\x9F\x91\x8D", "a-1", "rust");
        expect_refused(alice, "not_member", "a-1");
    }
    reply(alice, id, "let me in", "a-2", "rust");
    expect_refused(alice, "not_member", "a-2");
}

TEST_F(ChatServiceRoomEventsTest, TheEditWindowAllowsItsLastMillisecondAndRefusesTheNext) {
    auto options = default_options();
    options.edit_window = std::chrono::seconds(60);
    use_room_options(options);
    const auto sent_at = now_ms;
    const auto early = send_and_ack(alice, "general", "typo", "a-early").at("id").as_int64();
    settle();
    alice.sink->clear();

    now_ms = sent_at + 60000;
    change(alice, "edit", early, "no typo", "a-1");
    settle();
    EXPECT_EQ(frames_of_type(*alice.sink, "ack").size(), 1u);
    alice.sink->clear();

    now_ms = sent_at + 60001;
    change(alice, "edit", early, "later", "a-2");
    expect_refused(alice, "edit_window_closed", "a-2");
    change(alice, "delete", early, "", "a-3");
    expect_refused(alice, "edit_window_closed", "a-3");
    EXPECT_EQ(found(early).message.content, "no typo");
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="edit_window_closed"} 2)"));
    // Reactions and replies have no window.
    change(bob, "react", early, "\xF0\x9F\x91\x8D", "b-1");
    settle();
    EXPECT_EQ(frames_of_type(*bob.sink, "ack").size(), 1u);
}

TEST_F(ChatServiceRoomEventsTest, WithoutAnEditWindowAMessageCanBeChangedYearsLater) {
    now_ms += 3LL * 366 * 24 * 3600 * 1000;
    change(alice, "edit", root, "still mine", "a-1");
    settle();
    EXPECT_EQ(frames_of_type(*alice.sink, "ack").size(), 1u);
}

TEST_F(ChatServiceRoomEventsTest, TheMaximumOfDistinctEmojiIsReachedThenOnlyHeldOnesAreAccepted) {
    auto options = default_options();
    options.max_reactions_per_message = 2;
    use_room_options(options);
    const std::string thumbs = "\xF0\x9F\x91\x8D";
    const std::string party = "\xF0\x9F\x8E\x89";
    const std::string heart = "\xE2\x9D\xA4\xEF\xB8\x8F";
    change(bob, "react", root, thumbs, "b-1");
    change(bob, "react", root, party, "b-2");
    settle();
    EXPECT_EQ(frames_of_type(*bob.sink, "ack").size(), 2u);
    bob.sink->clear();

    change(bob, "react", root, heart, "b-3");
    expect_refused(bob, "too_many_reactions", "b-3");
    change(alice, "react", root, thumbs, "a-1");  // an emoji the message holds already
    settle();
    EXPECT_EQ(frames_of_type(*alice.sink, "ack").size(), 1u);
    EXPECT_EQ(found(root).message.reactions.size(), 2u);
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="too_many_reactions"} 1)"));

    // A removed emoji frees its place.
    change(bob, "unreact", root, party, "b-4");
    change(bob, "react", root, heart, "b-5");
    settle();
    EXPECT_EQ(found(root).message.reactions.back().emoji, heart);
}

TEST_F(ChatServiceRoomEventsTest, BlankOrTooLongEditsAndInvalidReactionsAreRefusedBeforeTheStore) {
    const auto before = room_as_of();
    for (const char* blank : {"", "   ", "\n"}) {
        change(alice, "edit", root, blank, "a-1");
        expect_refused(alice, "empty_message", "a-1");
    }
    std::string longest;
    for (std::size_t i = 0; i < service->options().max_message_length; ++i) longest += "x";
    change(alice, "edit", root, longest + "y", "a-2");
    expect_refused(alice, "message_too_long", "a-2");
    std::string flood;
    while (flood.size() < 10 * 1024) flood += "\xF0\x9F\x91\x8D";
    for (const std::string& emoji : {std::string("ok"), std::string(), flood,
                                     std::string("\xF0\x9F\x91\x8D\xF0\x9F\x91\x8D")}) {
        change(bob, "react", root, emoji, "b-1");
        expect_refused(bob, "invalid_reaction", "b-1");
        change(bob, "unreact", root, emoji, "b-2");
        expect_refused(bob, "invalid_reaction", "b-2");
    }
    EXPECT_EQ(room_as_of(), before);
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="empty_message"} 3)"));
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="invalid_reaction"} 8)"));

    // At the length limit, an edit is stored.
    change(alice, "edit", root, longest, "a-3");
    settle();
    EXPECT_EQ(frames_of_type(*alice.sink, "ack").size(), 1u);
    EXPECT_EQ(found(root).message.content, longest);
}

TEST_F(ChatServiceRoomEventsTest, ChangesCountAgainstTheMessageRate) {
    auto options = default_options();
    options.rate_burst = 3;
    options.rate_per_second = 0.001;  // no refill during the test
    use_room_options(options);
    change(bob, "react", root, "\xF0\x9F\x91\x8D", "b-1");
    change(bob, "unreact", root, "\xF0\x9F\x91\x8D", "b-2");
    reply(bob, root, "yes", "b-3");
    change(bob, "react", root, "\xF0\x9F\x8E\x89", "b-4");
    settle();
    EXPECT_EQ(frames_of_type(*bob.sink, "ack").size(), 3u);
    const auto errors = frames_of_type(*bob.sink, "error");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].at("code"), "rate_limited");
    EXPECT_EQ(errors[0].at("client_msg_id"), "b-4");
}

TEST_F(ChatServiceRoomEventsTest, ARetriedChangeIsStoredAndDeliveredOnceAndAckedAsDuplicate) {
    change(alice, "edit", root, "hi all", "a-edit");
    change(alice, "edit", root, "hi all", "a-edit");
    settle();
    const auto acks = frames_of_type(*alice.sink, "ack");
    ASSERT_EQ(acks.size(), 2u);
    EXPECT_EQ(acks[0].at("id"), acks[1].at("id"));
    EXPECT_EQ(acks[1].at("duplicate"), json::value(true));
    EXPECT_EQ(frames_of_type(*bob.sink, "message").size(), 1u);
}

TEST_F(ChatServiceRoomEventsTest, SeedStreamsGetRepliesAsMessagesAndNoChange) {
    const auto seed = connect(Identity{"dave", "seed-session"}, Protocol::Seed);
    seed.sink->clear();
    change(alice, "edit", root, "hi all", "a-1");
    change(bob, "react", root, "\xF0\x9F\x91\x8D", "b-1");
    change(bob, "unreact", root, "\xF0\x9F\x91\x8D", "b-2");
    reply(bob, root, "a reply", "b-3");
    change(alice, "delete", root, "", "a-2");
    settle();
    EXPECT_EQ(frames_of_type(*bob.sink, "message").size(), 5u);
    const auto frames = frames_of(*seed.sink);
    ASSERT_EQ(frames.size(), 1u) << ::testing::PrintToString(seed.sink->texts());
    EXPECT_EQ(keys_of(frames[0]), (std::set<std::string>{"content", "user_name", "sent_at"}));
    EXPECT_EQ(frames[0].at("content"), "a reply");
    EXPECT_EQ(frames[0].at("user_name"), "bob");
}

// ---------------------------------------------------------------------------------------------
// Read state (docs/protocol.md "Read state").

class ChatServiceReadStateTest : public ChatServiceTest {
  protected:
    void SetUp() override {
        ChatServiceTest::SetUp();
        const auto alice_identity = sign_up("alice");
        alice = connect(alice_identity);
        alice_tab = connect(alice_identity);
        bob = connect_new("bob");
        // What the connect path does before the welcome: alice's mark in general starts at its end.
        service->read_states("alice", service->rooms_of("alice"));
        first = send_and_ack(bob, "general", "one", "b-1").at("id").as_int64();
        second = send_and_ack(bob, "general", "two", "b-2").at("id").as_int64();
        for (const auto* client : {&alice, &alice_tab, &bob}) client->sink->clear();
    }
    void read(const Client& client, std::string_view room, std::int64_t id, std::string_view key) {
        frame(client, json::serialize(json::object{
                          {"type", "read"}, {"room", room}, {"id", id}, {"client_msg_id", key}}));
        settle();
    }
    // The HTTP path: checks, then waits for the store's answer (net does this on its pool).
    std::vector<model::ReadState> marked(const std::function<void(ChatService::ReadDone)>& start) {
        using Answer = std::pair<std::optional<chat::ErrorRecord>, std::vector<model::ReadState>>;
        std::promise<Answer> answer;
        auto answered = answer.get_future();
        start([&answer](std::optional<Error> error, std::vector<model::ReadState> states) {
            answer.set_value({chat::ErrorRecord::of(error), std::move(states)});
        });
        auto [error, states] = answered.get();
        if (error) error->raise();
        return std::move(states);
    }
    std::vector<model::ReadState> mark_read(const Identity& who,
                                            const std::string& room,
                                            std::int64_t id) {
        return marked([&](ChatService::ReadDone done) {
            service->mark_read(who, room, id, std::move(done));
        });
    }
    std::vector<model::ReadState> mark_all_read(const Identity& who) {
        return marked(
            [&](ChatService::ReadDone done) { service->mark_all_read(who, std::move(done)); });
    }
    model::ReadState general_state(const std::string& user) {
        const auto states = service->read_states(user, {"general"});
        EXPECT_EQ(states.size(), 1u);
        return states.empty() ? model::ReadState{} : states.front();
    }
    Client alice;
    Client alice_tab;
    Client bob;
    std::int64_t first = 0;
    std::int64_t second = 0;
};

TEST_F(ChatServiceReadStateTest, AMarkIsAckedAndEveryConnectionOfTheUserGetsTheNewState) {
    EXPECT_EQ(general_state("alice").unread, 2);
    read(alice, "general", first, "r-1");

    const auto acks = frames_of_type(*alice.sink, "read_ack");
    ASSERT_EQ(acks.size(), 1u) << ::testing::PrintToString(alice.sink->texts());
    EXPECT_EQ(acks[0].at("client_msg_id"), "r-1");
    const json::value expected = json::object{{"room", "general"},
                                              {"last_read_id", first},
                                              {"unread", 1},
                                              {"as_of", second},
                                              {"mentions", 0}};
    EXPECT_EQ(acks[0].at("rooms"), json::array{expected});
    // The other tab (and this one) are told; bob is not.
    for (const auto* tab : {&alice, &alice_tab}) {
        const auto states = frames_of_type(*tab->sink, "read_state");
        ASSERT_EQ(states.size(), 1u) << ::testing::PrintToString(tab->sink->texts());
        auto object = states[0].as_object();
        object.erase("type");
        EXPECT_EQ(json::value(object), expected);
    }
    EXPECT_TRUE(frames_of_type(*bob.sink, "read_state").empty());
    EXPECT_EQ(general_state("alice").unread, 1);
    EXPECT_TRUE(metric_has("chat_read_marks_stored_total 1")) << metrics.serialize();
}

TEST_F(ChatServiceReadStateTest, ALowerMarkChangesNothingAndIsAckedWithTheStateAsItIs) {
    read(alice, "general", second, "r-1");
    alice.sink->clear();
    alice_tab.sink->clear();
    read(alice, "general", first, "r-2");
    const auto acks = frames_of_type(*alice.sink, "read_ack");
    ASSERT_EQ(acks.size(), 1u);
    EXPECT_EQ(acks[0].at("rooms").at(0).at("last_read_id").as_int64(), second);
    EXPECT_TRUE(frames_of_type(*alice_tab.sink, "read_state").empty());
    EXPECT_EQ(general_state("alice").last_read_id, second);
    EXPECT_TRUE(metric_has("chat_read_marks_stored_total 1")) << metrics.serialize();
}

TEST_F(ChatServiceReadStateTest,
       AMarkAboveTheNewestIdOrOfARoomNotJoinedIsRefusedAndChangesNothing) {
    read(alice, "general", second + 1, "r-1");
    service->create_room(bob.identity, "rust");
    settle();
    read(alice, "rust", 1, "r-2");
    read(alice, "no-such-room", 1, "r-3");
    const auto errors = frames_of_type(*alice.sink, "error");
    ASSERT_EQ(errors.size(), 3u) << ::testing::PrintToString(alice.sink->texts());
    EXPECT_EQ(errors[0].at("code"), "read_mark_beyond_newest");
    EXPECT_EQ(errors[0].at("client_msg_id"), "r-1");
    EXPECT_EQ(errors[1].at("code"), "not_member");
    EXPECT_EQ(errors[2].at("code"), "not_member");
    EXPECT_TRUE(frames_of_type(*alice_tab.sink, "read_state").empty());
    EXPECT_EQ(general_state("alice").unread, 2);
    EXPECT_TRUE(metric_has("chat_read_marks_refused_total 3")) << metrics.serialize();
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="read_mark_beyond_newest"} 1)"));

    // The HTTP path refuses the same way.
    EXPECT_ERROR(mark_read(alice.identity, "general", second + 1), ErrorCode::ReadMarkBeyondNewest);
    EXPECT_ERROR(mark_read(alice.identity, "rust", 1), ErrorCode::NotMember);
    EXPECT_ERROR(mark_read(alice.identity, "no-such-room", 1), ErrorCode::RoomNotFound);
    EXPECT_ERROR(mark_read(alice.identity, "Not A Room", 1), ErrorCode::InvalidRoom);
    EXPECT_EQ(general_state("alice").unread, 2);
}

TEST_F(ChatServiceReadStateTest, TheHttpMarkAnswersTheNewStateAndTellsEveryConnection) {
    const auto states = mark_read(alice.identity, "general", second);
    EXPECT_EQ(states, (std::vector<model::ReadState>{{"general", second, 0, false, second}}));
    settle();
    EXPECT_EQ(frames_of_type(*alice_tab.sink, "read_state").size(), 1u);
}

TEST_F(ChatServiceReadStateTest, MarkAllReadMovesEveryRoomOfTheUserInOneCall) {
    service->create_room(bob.identity, "rust");
    service->join_room(alice.identity, "rust");
    settle();
    service->read_states("alice", service->rooms_of("alice"));
    const auto in_rust = send_and_ack(bob, "rust", "in rust", "b-3").at("id").as_int64();
    frame(alice, R"({"type":"read_all","client_msg_id":"r-all"})");
    settle();
    const auto acks = frames_of_type(*alice.sink, "read_ack");
    ASSERT_EQ(acks.size(), 1u) << ::testing::PrintToString(alice.sink->texts());
    const auto& rooms = acks[0].at("rooms").as_array();
    ASSERT_EQ(rooms.size(), 2u);
    EXPECT_EQ(rooms[0].at("room"), "general");
    EXPECT_EQ(rooms[0].at("last_read_id").as_int64(), second);
    EXPECT_EQ(rooms[1].at("room"), "rust");
    EXPECT_EQ(rooms[1].at("last_read_id").as_int64(), in_rust);
    EXPECT_EQ(frames_of_type(*alice_tab.sink, "read_state").size(), 2u);
    for (const auto& state : service->read_states("alice", {"general", "rust"})) {
        EXPECT_EQ(state.unread, 0) << state.room;
    }
    EXPECT_TRUE(mark_all_read(alice.identity).empty());  // nothing left to move
}

TEST_F(ChatServiceReadStateTest, UnreadCountsStopAtMaxUnreadCountWhichIsCounted) {
    auto options = default_options();
    options.max_unread_count = 2;
    use_options(options);
    EXPECT_EQ(general_state("alice").unread, 2);
    EXPECT_FALSE(general_state("alice").unread_capped);
    send_and_ack(bob, "general", "three", "b-3");
    const auto capped = general_state("alice");
    EXPECT_EQ(capped.unread, 2);
    EXPECT_TRUE(capped.unread_capped);
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="unread_capped"} 1)"))
        << metrics.serialize();
}

TEST_F(ChatServiceReadStateTest, TheWelcomeCarriesTheReadStateOfEachRoom) {
    const auto states = service->read_states("alice", service->rooms_of("alice"));
    const auto welcome = json::parse(*service->welcome("alice", {"general"}, states));
    EXPECT_EQ(welcome.at("read").at(0).at("room"), "general");
    EXPECT_EQ(welcome.at("read").at(0).at("unread").as_int64(), 2);
}

// ---------------------------------------------------------------------------------------------
// Notification levels (docs/protocol.md "Notification levels").

TEST_F(ChatServiceReadStateTest, ANotifyLevelReachesEveryTabOfItsUserAndTheNextWelcome) {
    using model::NotifyLevel;
    using Levels = std::vector<model::RoomNotifyLevel>;
    auto& levels = service->notify_levels();
    service->create_room(alice.identity, "team");
    const auto dm = service->open_direct(alice.identity, "bob");
    settle();
    for (const auto* client : {&alice, &alice_tab, &bob}) client->sink->clear();

    EXPECT_EQ(levels.set("alice", "team", NotifyLevel::Muted),
              (model::RoomNotifyLevel{"team", NotifyLevel::Muted}));
    settle();
    const auto expected = json::parse(R"({"type":"notify","room":"team","level":"muted"})");
    for (const auto* tab : {&alice, &alice_tab}) {
        const auto frames = frames_of_type(*tab->sink, "notify");
        ASSERT_EQ(frames.size(), 1u) << ::testing::PrintToString(tab->sink->texts());
        EXPECT_EQ(frames[0], expected);
    }
    EXPECT_TRUE(frames_of_type(*bob.sink, "notify").empty());

    // A room's default is not stored: a direct conversation notifies of all, others of mentions.
    EXPECT_EQ(chat::NotifyLevels::default_for(dm), NotifyLevel::All);
    EXPECT_EQ(chat::NotifyLevels::default_for("general"), NotifyLevel::Mentions);
    levels.set("alice", dm, NotifyLevel::All);
    levels.set("alice", "general", NotifyLevel::All);
    EXPECT_EQ(store.notify_levels("alice"),
              (Levels{{"general", NotifyLevel::All}, {"team", NotifyLevel::Muted}}));
    const auto rooms = service->rooms_of("alice");
    const auto chosen = levels.chosen("alice", rooms);
    EXPECT_EQ(chosen, (Levels{{"general", NotifyLevel::All}, {"team", NotifyLevel::Muted}}));
    const auto welcome = json::parse(*service->welcome("alice", rooms, {}, chosen));
    EXPECT_EQ(welcome.at("notify"), json::parse(R"({"general":"all","team":"muted"})"));

    // Only members, of rooms that exist, with valid names; a refusal changes nothing.
    EXPECT_ERROR(levels.set("bob", "team", NotifyLevel::All), ErrorCode::NotMember);
    EXPECT_ERROR(levels.set("alice", "no-such-room", NotifyLevel::All), ErrorCode::RoomNotFound);
    EXPECT_ERROR(levels.set("alice", "Bad Room", NotifyLevel::All), ErrorCode::InvalidRoom);
    EXPECT_TRUE(store.notify_levels("bob").empty());

    // Leaving forgets the level; choosing the default again deletes it.
    service->leave_room(alice.identity, "team");
    levels.set("alice", "general", NotifyLevel::Mentions);
    EXPECT_TRUE(store.notify_levels("alice").empty());
}

// ---------------------------------------------------------------------------------------------
// Mentions (docs/protocol.md "Mentions").

TEST_F(ChatServiceReadStateTest, AMentionNamesTheMemberInItsFramesAndCountsOnTheirMark) {
    const auto ack = send_and_ack(bob, "general", "@alice look, and @nobody too", "b-3");
    const auto messages = frames_of_type(*alice.sink, "message");
    ASSERT_EQ(messages.size(), 1u) << ::testing::PrintToString(alice.sink->texts());
    EXPECT_EQ(messages[0].at("message").at("mentions"), (json::array{"alice"}));
    EXPECT_FALSE(messages[0].at("message").as_object().contains("mentions_room"));
    const auto state = general_state("alice");
    EXPECT_EQ(state.unread, 3);
    EXPECT_EQ(state.mentions, 1);
    // Read up to it: the mention is read too, on every connection of alice.
    read(alice, "general", ack.at("id").as_int64(), "r-1");
    const auto moved = frames_of_type(*alice_tab.sink, "read_state");
    ASSERT_EQ(moved.size(), 1u);
    EXPECT_EQ(moved[0].at("mentions").as_int64(), 0);
}

TEST_F(ChatServiceReadStateTest, RoomMentionsAreRefusedPastMaxRoomMentionMembersAndCounted) {
    service->read_states("bob", {"general"});  // general's members: alice and bob
    auto options = default_options();
    options.max_room_mention_members = 2;
    use_options(options);
    // At the edge: stored, and alice is mentioned.
    send_and_ack(bob, "general", "@room standup", "b-3");
    EXPECT_EQ(general_state("alice").mentions, 1);
    const auto messages = frames_of_type(*alice.sink, "message");
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0].at("message").at("mentions_room"), true);

    options.max_room_mention_members = 1;
    use_options(options);
    const auto as_of = general_state("alice").as_of;
    send(bob, "general", "@room again", "b-4");
    settle();
    const auto errors = frames_of_type(*bob.sink, "error");
    ASSERT_EQ(errors.size(), 1u) << ::testing::PrintToString(bob.sink->texts());
    EXPECT_EQ(errors[0].at("code"), "room_mention_too_large");
    EXPECT_EQ(errors[0].at("client_msg_id"), "b-4");
    EXPECT_EQ(general_state("alice").as_of, as_of);
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="room_mention"} 1)"))
        << metrics.serialize();
    // A name in a code span, or @room there, is no mention and no refusal.
    send_and_ack(bob, "general", "type `@room` or `@alice`", "b-5");
    EXPECT_EQ(general_state("alice").mentions, 1);
}

TEST_F(ChatServiceReadStateTest, RoomMembersArePagedUpToMaxMembersPageForMembersOnly) {
    service->read_states("bob", {"general"});  // general's members: alice and bob
    auto options = default_options();
    options.max_members_page = 2;
    use_options(options);
    // At the edge: every name, none left.
    auto page = service->room_members(bob.identity, "general", "", 2);
    EXPECT_EQ(page.members, (std::vector<std::string>{"alice", "bob"}));
    EXPECT_FALSE(page.has_more);
    page = service->room_members(bob.identity, "general", "", 1);
    EXPECT_EQ(page.members, std::vector<std::string>{"alice"});
    EXPECT_TRUE(page.has_more);
    page = service->room_members(bob.identity, "general", "alice", 1);
    EXPECT_EQ(page.members, std::vector<std::string>{"bob"});
    EXPECT_FALSE(page.has_more);
    // Past it: refused and counted; a limit below 1 is refused but is no limit hit.
    EXPECT_ERROR(service->room_members(bob.identity, "general", "", 3), ErrorCode::BadRequest);
    EXPECT_ERROR(service->room_members(bob.identity, "general", "", 0), ErrorCode::BadRequest);
    EXPECT_TRUE(metric_has(R"(chat_limit_hits_total{kind="members_page"} 1)"))
        << metrics.serialize();

    service->create_room(alice.identity, "rust");
    EXPECT_EQ(service->room_members(alice.identity, "rust", "", 2).members,
              std::vector<std::string>{"alice"});
    EXPECT_ERROR(service->room_members(bob.identity, "rust", "", 2), ErrorCode::NotMember);
    EXPECT_ERROR(service->room_members(bob.identity, "nowhere", "", 2), ErrorCode::RoomNotFound);
}

TEST_F(ChatServiceReadStateTest, SeedMessagesMentionByNameAndTreatRoomAsText) {
    ASSERT_FALSE(post_seed("bob", "@alice @room hello").has_value());
    EXPECT_EQ(general_state("alice").mentions, 1);
}

}  // namespace
