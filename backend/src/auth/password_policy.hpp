#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace chatd::auth {

// --password-policy: `dictionary` (PasswordChecker below, the default) or `length` (only the
// caller's length rule).
enum class PasswordPolicy { dictionary, length };

// A minimum password strength, libpwquality with cracklib's dictionary, configured here and never
// from /etc/security/pwquality.conf, so that every host checks the same way:
//   - length: at least `min_length` bytes (the caller counts characters first);
//   - dictcheck: cracklib's FascistCheck against its default dictionary (cracklib-runtime), which
//     also refuses sequences such as 12345678 and keyboard rows such as qwertyuiop;
//   - usercheck: the user name, forwards or backwards, in any ASCII case, anywhere in the password
//     (names of 4 bytes or more);
//   - at most 4 monotonic characters in a row (abcde, 54321) and 3 identical ones in a row;
//   - libpwquality's own palindrome check.
// Character classes and credits are not required: a long passphrase of lowercase words passes.
class PasswordChecker {
  public:
    // Throws std::runtime_error when the dictionary cannot be read (cracklib-runtime missing):
    // a server that would refuse every password must not start.
    explicit PasswordChecker(std::size_t min_length);
    ~PasswordChecker();
    PasswordChecker(const PasswordChecker&) = delete;
    PasswordChecker& operator=(const PasswordChecker&) = delete;

    // Nothing when the password is strong enough; otherwise libpwquality's reason, in English.
    // Thread-safe (calls are serialised: cracklib is not documented as thread-safe). Takes a few
    // milliseconds: the dictionary is opened on each call.
    std::optional<std::string> weakness(std::string_view password,
                                        std::string_view user_name) const;

  private:
    struct Settings;
    std::unique_ptr<Settings> settings_;
    mutable std::mutex mutex_;
};

}  // namespace chatd::auth
