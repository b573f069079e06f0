#include "ctl/bundle_window.h"

#include <limits>

#include "daemon/evidence/note.h"
#include "gtest/gtest.h"

namespace attest::ctl {
namespace {

namespace note = evidence::note;

// A checkpoint made at `created` whose note carries attestd's signature
// and a cosignature by each witness at the given times (signatures are
// not verified here: only their timestamps are read).
v1::Checkpoint Made(uint64_t sequence, int64_t created, std::vector<uint64_t> cosigned) {
  v1::Checkpoint c;
  c.set_sequence(sequence);
  c.mutable_created_at()->set_seconds(created);
  note::Note n;
  n.text = "attestd/test\n" + std::to_string(sequence) +
           "\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
  n.signatures.push_back({.name = "attestd/test", .key_id = 1, .blob = std::string(64, 's')});
  int w = 0;
  for (uint64_t t : cosigned) {
    std::string blob;
    for (int b = 7; b >= 0; --b) blob.push_back(static_cast<char>((t >> (8 * b)) & 0xff));
    blob += std::string(64, 'c');
    n.signatures.push_back(
        {.name = "witness" + std::to_string(++w), .key_id = 2, .blob = std::move(blob)});
  }
  c.set_note(n.Format());
  return c;
}

// A state existed by the earliest time at which every named witness had
// cosigned it or a later state, never before attestd says it made it; with
// no such cosignature from it on, it cannot start a host; with no
// witnesses, attestd's word alone.
TEST(ExistedByTest, EveryNamedWitnessMustHaveCosignedAStateForItsTimeToCount) {
  const std::vector<v1::Checkpoint> leaves = {
      Made(1, 1000, {1010, 1500}),  // witness1 at 1010, witness2 at 1500
      Made(2, 2000, {}),            // neither
      Made(3, 3000, {1200}),        // witness1 only, its clock behind
      Made(4, 4000, {}),            // neither, from here on
  };
  // From state 2 on, no state has both: none of them can start a host.
  constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(ExistedBy(leaves, {"witness1", "witness2"}),
            (std::vector<int64_t>{1500, kNever, kNever, kNever}));
  // State 3's cosignature proves states 1 and 2 existed by 1200, and state
  // 1's own says 1010.
  EXPECT_EQ(ExistedBy(leaves, {"witness1"}), (std::vector<int64_t>{1010, 2000, 3000, kNever}));
  // No witnesses: attestd's created_at.
  EXPECT_EQ(ExistedBy(leaves, {}), (std::vector<int64_t>{1000, 2000, 3000, 4000}));
  // Backdated: attestd says 100, its witnesses cosigned at 800 and 900.
  EXPECT_EQ(ExistedBy({Made(1, 100, {900, 800})}, {"witness1", "witness2"}),
            (std::vector<int64_t>{900}));
}

}  // namespace
}  // namespace attest::ctl
