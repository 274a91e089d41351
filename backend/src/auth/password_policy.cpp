#include "auth/password_policy.hpp"

#include <pwquality.h>

#include <array>
#include <stdexcept>

namespace chatd::auth {

struct PasswordChecker::Settings {
    pwquality_settings_t* pwq = nullptr;
    ~Settings() { pwquality_free_settings(pwq); }
};

namespace {

void set(pwquality_settings_t* pwq, int setting, int value) {
    if (pwquality_set_int_value(pwq, setting, value) != 0) {
        throw std::runtime_error("libpwquality refused setting " + std::to_string(setting));
    }
}

std::string reason(int code, void* auxerror) {
    std::array<char, PWQ_MAX_ERROR_MESSAGE_LEN> buffer{};
    const char* text = pwquality_strerror(buffer.data(), buffer.size(), code, auxerror);
    return text ? std::string(text) : "the password is too weak";
}

}  // namespace

PasswordChecker::PasswordChecker(std::size_t min_length) : settings_(std::make_unique<Settings>()) {
    // pwquality_default_settings() reads no file: the configuration file is only read by
    // pwquality_read_config, which is never called.
    settings_->pwq = pwquality_default_settings();
    if (!settings_->pwq) throw std::runtime_error("libpwquality: out of memory");
    auto* pwq = settings_->pwq;
    set(pwq, PWQ_SETTING_MIN_LENGTH, static_cast<int>(min_length));
    set(pwq, PWQ_SETTING_DIFF_OK, 0);  // no old password to compare with
    set(pwq, PWQ_SETTING_DIG_CREDIT, 0);
    set(pwq, PWQ_SETTING_UP_CREDIT, 0);
    set(pwq, PWQ_SETTING_LOW_CREDIT, 0);
    set(pwq, PWQ_SETTING_OTH_CREDIT, 0);
    set(pwq, PWQ_SETTING_MIN_CLASS, 0);
    set(pwq, PWQ_SETTING_MAX_REPEAT, 3);
    set(pwq, PWQ_SETTING_MAX_CLASS_REPEAT, 0);
    set(pwq, PWQ_SETTING_MAX_SEQUENCE, 4);
    set(pwq, PWQ_SETTING_GECOS_CHECK, 0);  // chatd's users are not host accounts
    set(pwq, PWQ_SETTING_USER_SUBSTR, 0);  // the whole name, not its substrings
    set(pwq, PWQ_SETTING_DICT_CHECK, 1);
    set(pwq, PWQ_SETTING_USER_CHECK, 1);
    set(pwq, PWQ_SETTING_ENFORCING, 1);
    // A password no dictionary holds must pass: if it does not, the dictionary is unreadable.
    void* auxerror = nullptr;
    const int score =
        pwquality_check(pwq, "vq7-Hm2x!Lr9-Tz4", nullptr, "chatd-self-test", &auxerror);
    if (score < 0) {
        throw std::runtime_error("password checker: " + reason(score, auxerror) +
                                 " (is cracklib-runtime installed?)");
    }
}

PasswordChecker::~PasswordChecker() = default;

std::optional<std::string> PasswordChecker::weakness(std::string_view password,
                                                     std::string_view user_name) const {
    // C strings: a NUL ends each early, and the prefix is checked (never a weaker check than
    // the one the full password would get from cracklib).
    const std::string pw(password);
    const std::string user(user_name);
    void* auxerror = nullptr;
    int score = 0;
    {
        const std::lock_guard lock(mutex_);
        score = pwquality_check(settings_->pwq, pw.c_str(), nullptr, user.c_str(), &auxerror);
    }
    if (score >= 0) return std::nullopt;
    return reason(score, auxerror);
}

}  // namespace chatd::auth
