// What an access review reviews (docs/design.md, "Access reviews"): the
// access entries of a host's access snapshot, and a campaign's population,
// the entries of every in-scope host grouped across hosts.
//
// An entry is one of:
//   user     a user with a login shell;
//   group    a member of a privileged group the policy lists (a member of
//            its list, or a login user whose primary group it is);
//   sudoers  a sudoers line that grants or names access (not Defaults, not
//            an include);
//   key      an authorized SSH key of a login user.
// Its id depends on what it grants, never on where it was seen, so the same
// key of the same user on 40 hosts is one entry: "e" + the first 12 hex
// digits of SHA-256(kind \0 user \0 detail).
#ifndef ATTEST_DAEMON_ENGINE_REVIEW_POPULATION_H_
#define ATTEST_DAEMON_ENGINE_REVIEW_POPULATION_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "attest/v1/engine.pb.h"
#include "attest/v1/signal.pb.h"

namespace attest::engine {

std::string ReviewEntryId(std::string_view kind, std::string_view user, std::string_view detail);

// The entries of one snapshot, one per id, sorted by id; `hosts` empty.
std::vector<v1::ReviewEntry> AccessEntries(const v1::AccessSnapshot& snapshot,
                                           const std::vector<std::string>& privileged_groups);

// Whether the snapshot still holds the entry `id`.
bool SnapshotHolds(const v1::AccessSnapshot& snapshot,
                   const std::vector<std::string>& privileged_groups, std::string_view id);

// Whether access change `change` by itself shows entry `entry` gone from its
// host: the user removed (their login, group memberships and keys go with
// them), or the key removed (KEY_REMOVED names the owner and, in `before`,
// the fingerprint). A sudoers line needs a snapshot: a change names only
// the file.
bool ChangeRemoves(const v1::ReviewEntry& entry, const v1::AccessChange& change);

// One in-scope host at a campaign's start; `snapshot` null when it had none.
struct PopulationHost {
  std::string host;
  uint64_t snapshot_index = 0;
  int64_t snapshot_t = 0;
  const v1::AccessSnapshot* snapshot = nullptr;
};

struct Population {
  std::vector<v1::ReviewHost> hosts;     // by host
  std::vector<v1::ReviewEntry> entries;  // by id, each with its hosts sorted
};

// The population of `hosts` (any order).
Population BuildPopulation(std::vector<PopulationHost> hosts,
                           const std::vector<std::string>& privileged_groups);

// Hex SHA-256 of the population's canonical lines (ReviewCampaign.population_sha256).
std::string PopulationSha256(const Population& population);

// How causes and messages name an entry: "key of alice ssh-ed25519 ...".
std::string DescribeEntry(const v1::ReviewEntry& entry);

// Whether `entry` is `who`'s own access: the user it belongs to, one of the
// users a sudoers line names, or a member of a User_Alias.
bool EntryBelongsTo(const v1::ReviewEntry& entry, std::string_view who);

}  // namespace attest::engine

#endif  // ATTEST_DAEMON_ENGINE_REVIEW_POPULATION_H_
