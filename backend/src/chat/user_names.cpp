#include "chat/user_names.hpp"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uspoof.h>

#include <memory>
#include <stdexcept>

#include "chat/validation.hpp"

namespace chatd::chat {
namespace {

const icu::Normalizer2& nfc() {
    UErrorCode status = U_ZERO_ERROR;
    static const icu::Normalizer2* instance = icu::Normalizer2::getNFCInstance(status);
    if (instance == nullptr) throw std::runtime_error("ICU: no NFC normalizer");
    return *instance;
}

const icu::Normalizer2& nfkc_casefold() {
    UErrorCode status = U_ZERO_ERROR;
    static const icu::Normalizer2* instance = icu::Normalizer2::getNFKCCasefoldInstance(status);
    if (instance == nullptr) throw std::runtime_error("ICU: no NFKC_Casefold normalizer");
    return *instance;
}

struct SpoofCloser {
    void operator()(USpoofChecker* checker) const { uspoof_close(checker); }
};

// A configured checker is safe for concurrent use by the checking functions (uspoof.h).
const USpoofChecker* spoof_checker() {
    static const std::unique_ptr<USpoofChecker, SpoofCloser> checker = [] {
        UErrorCode status = U_ZERO_ERROR;
        std::unique_ptr<USpoofChecker, SpoofCloser> opened(uspoof_open(&status));
        if (U_FAILURE(status)) {
            throw std::runtime_error(std::string("ICU: uspoof_open: ") + u_errorName(status));
        }
        return opened;
    }();
    return checker.get();
}

}  // namespace

std::optional<std::string> nfc_name(std::string_view utf8) {
    if (!valid_utf8(utf8)) return std::nullopt;
    const auto text = icu::UnicodeString::fromUTF8(
        icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
    UErrorCode status = U_ZERO_ERROR;
    const auto normalized = nfc().normalize(text, status);
    if (U_FAILURE(status)) return std::nullopt;
    std::string out;
    normalized.toUTF8String(out);
    return out;
}

bool is_nfc(std::string_view utf8) {
    const auto text = icu::UnicodeString::fromUTF8(
        icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
    UErrorCode status = U_ZERO_ERROR;
    const bool normalized = nfc().isNormalized(text, status);
    return U_SUCCESS(status) && normalized;
}

bool allowed_in_user_name(char32_t code_point) {
    const auto c = static_cast<UChar32>(code_point);
    if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) ||
        u_hasBinaryProperty(c, UCHAR_BIDI_CONTROL) ||
        u_hasBinaryProperty(c, UCHAR_NONCHARACTER_CODE_POINT) ||
        u_hasBinaryProperty(c, UCHAR_WHITE_SPACE)) {
        return false;
    }
    switch (u_charType(c)) {
        case U_FORMAT_CHAR:
        case U_CONTROL_CHAR:
        case U_UNASSIGNED:
        case U_PRIVATE_USE_CHAR:
        case U_SURROGATE:
        case U_SPACE_SEPARATOR:
        case U_LINE_SEPARATOR:
        case U_PARAGRAPH_SEPARATOR:
            return false;
        default:
            return true;
    }
}

std::string user_name_key(std::string_view utf8_name) {
    const auto text = icu::UnicodeString::fromUTF8(
        icu::StringPiece(utf8_name.data(), static_cast<int32_t>(utf8_name.size())));
    UErrorCode status = U_ZERO_ERROR;
    const auto folded = nfkc_casefold().normalize(text, status);
    if (U_FAILURE(status)) {
        throw std::runtime_error(std::string("ICU: NFKC_Casefold: ") + u_errorName(status));
    }
    icu::UnicodeString skeleton;
    uspoof_getSkeletonUnicodeString(spoof_checker(), 0, folded, skeleton, &status);
    if (U_FAILURE(status)) {
        throw std::runtime_error(std::string("ICU: uspoof_getSkeleton: ") + u_errorName(status));
    }
    // The skeleton of a case-folded name may hold capitals again (the confusable prototype of
    // "l" is "l", but of some letters a capital): fold once more so that case never matters.
    skeleton.foldCase();
    std::string out;
    skeleton.toUTF8String(out);
    // A name of nothing but ignorable characters (possible only from before these rules) has an
    // empty skeleton: it is its own key, so that an empty key always means "not computed".
    return out.empty() ? std::string(utf8_name) : out;
}

std::string search_fold(std::string_view utf8) {
    const auto text = icu::UnicodeString::fromUTF8(
        icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
    UErrorCode status = U_ZERO_ERROR;
    const auto folded = nfkc_casefold().normalize(text, status);
    if (U_FAILURE(status)) {
        throw std::runtime_error(std::string("ICU: NFKC_Casefold: ") + u_errorName(status));
    }
    std::string out;
    folded.toUTF8String(out);
    return out;
}

}  // namespace chatd::chat
