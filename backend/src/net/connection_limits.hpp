#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace chatd::net {

// The connection counts behind --max-connections (every accepted TCP connection: HTTP keep-alive
// and WebSocket alike) and --max-connections-per-address (every accepted TCP connection of a peer
// address, counted at accept; a trusted proxy's connections are exempt at accept, and counted per
// forwarded client address at the WebSocket upgrade). Headroom: once more than 90 % of
// --max-connections are open, a new connection from an address that already holds
// --headroom-connections-per-address (0: no headroom rule) is refused, so that addresses holding
// few connections still get in when one address crowds the server. Thread-safe. Held by shared_ptr:
// a slot may outlive the server that handed it out (a session still registered with the hub when
// the I/O context is torn down).
class ConnectionLimits : public std::enable_shared_from_this<ConnectionLimits> {
  public:
    // One counted connection; releases its counts when destroyed. Move-only; empty when refused.
    class Slot {
      public:
        Slot() = default;
        Slot(Slot&& other) noexcept
            : owner_(std::move(other.owner_)),
              address_(std::move(other.address_)),
              has_address_(std::exchange(other.has_address_, false)) {}
        Slot& operator=(Slot&& other) noexcept {
            if (this != &other) {
                release();
                owner_ = std::move(other.owner_);
                address_ = std::move(other.address_);
                has_address_ = std::exchange(other.has_address_, false);
            }
            return *this;
        }
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;
        ~Slot() { release(); }

        explicit operator bool() const noexcept { return owner_ != nullptr; }

      private:
        friend class ConnectionLimits;
        void release() {
            if (!owner_) return;
            owner_->release(*this);
            owner_.reset();
            has_address_ = false;
        }

        std::shared_ptr<ConnectionLimits> owner_;
        std::string address_;
        bool has_address_ = false;
    };

    ConnectionLimits(std::size_t max_connections,
                     std::size_t max_per_address,
                     std::size_t headroom_per_address = 0)
        : max_connections_(max_connections),
          max_per_address_(max_per_address),
          headroom_per_address_(headroom_per_address) {}

    enum class Refusal { None, Connections, PerAddress };

    // A slot for a newly accepted connection from `address`, counted against that address
    // unless `exempt` (a trusted proxy); empty when refused, with the reason in `refusal`.
    Slot try_accept(const std::string& address, bool exempt, Refusal& refusal) {
        Slot slot;
        refusal = Refusal::None;
        std::lock_guard lock(mutex_);
        if (open_ >= max_connections_) {
            refusal = Refusal::Connections;
            return slot;
        }
        if (!exempt) {
            auto [it, inserted] = per_address_.try_emplace(address, 0);
            const bool crowded = headroom_per_address_ != 0 && open_ * 10 >= max_connections_ * 9 &&
                                 it->second >= headroom_per_address_;
            if (it->second >= max_per_address_ || crowded) {
                if (inserted) per_address_.erase(it);
                refusal = Refusal::PerAddress;
                return slot;
            }
            ++it->second;
            slot.address_ = address;
            slot.has_address_ = true;
        }
        ++open_;
        slot.owner_ = shared_from_this();
        return slot;
    }
    // A slot counted against --max-connections only (tests).
    Slot try_accept() {
        Refusal ignored;
        return try_accept({}, true, ignored);
    }

    // At a WebSocket upgrade: a connection counted by its peer address at accept is already
    // counted; one from a trusted proxy is counted now as a connection of the client `address`.
    // False (and nothing counted) when that address already holds --max-connections-per-address.
    bool try_add_address(Slot& slot, const std::string& address) {
        if (!slot) return false;
        if (slot.has_address_) return true;
        std::lock_guard lock(mutex_);
        auto [it, inserted] = per_address_.try_emplace(address, 0);
        if (it->second >= max_per_address_) {
            if (inserted) per_address_.erase(it);
            return false;
        }
        ++it->second;
        slot.address_ = address;
        slot.has_address_ = true;
        return true;
    }

    std::size_t open() const {
        std::lock_guard lock(mutex_);
        return open_;
    }

  private:
    void release(const Slot& slot) {
        std::lock_guard lock(mutex_);
        --open_;
        if (!slot.has_address_) return;
        auto it = per_address_.find(slot.address_);
        if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
    }

    const std::size_t max_connections_;
    const std::size_t max_per_address_;
    const std::size_t headroom_per_address_;
    mutable std::mutex mutex_;
    std::size_t open_ = 0;
    std::unordered_map<std::string, std::size_t> per_address_;
};

}  // namespace chatd::net
