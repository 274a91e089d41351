#pragma once

#include <cstdint>

#include "model/message.hpp"

// Encodings shared by the SQLite and PostgreSQL schemas.
namespace chatd::store::detail {

// The stored codes are part of both schemas (CHECK in each 0001_init.sql): never renumber.
inline std::int64_t kind_to_db(model::MessageKind kind) {
    switch (kind) {
        case model::MessageKind::Text:
            return 0;
        case model::MessageKind::Join:
            return 1;
        case model::MessageKind::Leave:
            return 2;
    }
    return 0;
}

inline model::MessageKind kind_from_db(std::int64_t code) {
    switch (code) {
        case 1:
            return model::MessageKind::Join;
        case 2:
            return model::MessageKind::Leave;
        default:
            return model::MessageKind::Text;
    }
}

template <class Migrations>
constexpr bool versions_strictly_increase(const Migrations& migrations) {
    int previous = 0;
    for (const auto& migration : migrations) {
        if (migration.version <= previous) return false;
        previous = migration.version;
    }
    return true;
}

}  // namespace chatd::store::detail
