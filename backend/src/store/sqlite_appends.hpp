#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/group_commit_writer.hpp"
#include "store/sqlite_connection.hpp"

namespace chatd::store::detail {

// Newest id of each room the writer has written to or looked up, kept from one group commit
// to the next so that a commit does not re-read the newest id of every room it writes to. Valid
// only while no other connection changed the file: SQLite's data version (which counts every
// commit to the file, this connection's included, and every change it sees from outside) must
// be the one recorded after the writer's last commit. A rollback forgets everything.
class RoomChains {
  public:
    using LastIdOfRoom =
        std::unordered_map<std::string, model::MessageId, TransparentHash, std::equal_to<>>;

    // Call inside the transaction, after BEGIN IMMEDIATE (which read the newest snapshot).
    LastIdOfRoom& begin(SqliteConnection& db) {
        if (data_version(db) != committed_version_) last_ids_.clear();
        return last_ids_;
    }
    void committed(SqliteConnection& db) { committed_version_ = data_version(db); }
    void rolled_back() {
        last_ids_.clear();
        committed_version_.reset();
    }

  private:
    static unsigned data_version(SqliteConnection& db) {
        unsigned version = 0;
        if (sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_DATA_VERSION, &version) !=
            SQLITE_OK) {
            db.fail("data version");
        }
        return version;
    }

    LastIdOfRoom last_ids_;
    std::optional<unsigned> committed_version_;
};

// SQLite's part of the group commit: a batch in one IMMEDIATE transaction on the writer
// connection, with multi-row INSERTs (see sqlite_appends.cpp).
class SqliteAppends final : public AppendCommitter {
  public:
    explicit SqliteAppends(SqliteConnection& writer) : db_(writer) {}

    // Throws WriterUnavailable when the transaction cannot start (lock timeout, I/O error).
    std::vector<AppendResult> commit(const std::vector<NewMessage*>& messages) override;

  private:
    SqliteConnection& db_;
    RoomChains chains_;
};

}  // namespace chatd::store::detail
