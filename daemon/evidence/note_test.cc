#include "daemon/evidence/note.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/strings.h"
#include "daemon/evidence/checkpoint.h"

namespace attest::evidence::note {
namespace {

std::unique_ptr<SigningKey> TestKey(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/note_test";
  std::filesystem::create_directories(dir);
  auto key = SigningKey::LoadOrCreate(dir + "/" + name);
  EXPECT_TRUE(key.ok()) << key.status();
  return std::move(*key);
}

VerifierKey Vkey(const SigningKey& key, const std::string& name, uint8_t type) {
  VerifierKey v;
  v.name = name;
  v.type = type;
  v.public_key = key.raw_public_key();
  v.key_id = KeyId(name, type, v.public_key);
  return v;
}

// The example of Go's signed-note package (golang.org/x/mod/sumdb/note,
// example_test.go): a note signed by another implementation.
constexpr char kGoVkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr char kGoNote[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xe2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

TEST(NoteTest, GoExampleVerifierKeyAndNoteVerify) {
  auto v = ParseVerifierKey(kGoVkey);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->name, "PeterNeumann");
  EXPECT_EQ(v->key_id, 0xc74f20a3u);
  EXPECT_EQ(v->type, kEd25519);
  EXPECT_EQ(v->Format(), kGoVkey);
  auto n = Parse(kGoNote);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->Format(), kGoNote);
  EXPECT_TRUE(VerifySignature(*n, *v).ok());
  Note changed = *n;
  changed.text[0] = 'i';
  EXPECT_EQ(VerifySignature(changed, *v).code(), absl::StatusCode::kDataLoss);
  // A wrong id, a bad name, a bad type or bad base64 are refused.
  for (const char* bad : {"PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                          "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                          "PeterNeumann+c74f20a3+AhpcMQ", "PeterNeumann", "",
                          "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"}) {
    EXPECT_FALSE(ParseVerifierKey(bad).ok()) << bad;
  }
}

TEST(NoteTest, VerifierKeysRoundTripWhateverTheirBase64Holds) {
  // Base64 may hold "+", which also separates a vkey's parts.
  int with_plus = 0;
  for (int i = 0; i < 24; ++i) {
    auto key = TestKey("roundtrip" + std::to_string(i) + ".key");
    for (uint8_t type : {kEd25519, kCosignatureV1}) {
      const VerifierKey v = Vkey(*key, "witness.example/w" + std::to_string(i), type);
      const std::string text = v.Format();
      // After "<name>+<8 hex>+" comes the base64.
      with_plus += text.find('+', v.name.size() + 10) != std::string::npos;
      auto back = ParseVerifierKey(text);
      ASSERT_TRUE(back.ok()) << back.status() << " for " << text;
      EXPECT_EQ(back->Format(), text);
      EXPECT_EQ(back->public_key, v.public_key);
    }
  }
  EXPECT_GT(with_plus, 0) << "no key had a + in its base64: the case is not exercised";
}

TEST(NoteTest, SignaturesAndCosignaturesVerifyAndAlterationsFail) {
  auto log = TestKey("log.key");
  auto witness = TestKey("witness.key");
  Checkpoint c{"attest.example/prod", 12, std::string(32, '\x07'), {}};
  Note note;
  note.text = c.Format();
  EXPECT_EQ(note.text, "attest.example/prod\n12\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n");
  const VerifierKey lv = Vkey(*log, "attest.example/prod", kEd25519);
  note.signatures.push_back({lv.name, lv.key_id, log->Sign(note.text)});
  const VerifierKey wv = Vkey(*witness, "witness.example/w1", kCosignatureV1);
  const uint64_t t = 1'767'225'600;
  std::string ts(8, '\0');
  for (int i = 0; i < 8; ++i) ts[i] = static_cast<char>((t >> (56 - 8 * i)) & 0xff);
  note.signatures.push_back(
      {wv.name, wv.key_id, ts + witness->Sign(CosignedMessage(t, note.text))});
  auto parsed = Parse(note.Format());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Format(), note.Format());
  EXPECT_TRUE(VerifySignature(*parsed, lv).ok());
  uint64_t when = 0;
  EXPECT_TRUE(VerifySignature(*parsed, wv, &when).ok());
  EXPECT_EQ(when, t);
  auto body = ParseCheckpoint(parsed->text);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->size, 12u);
  EXPECT_EQ(body->origin, "attest.example/prod");

  // The witness key used as a plain note key (or the other way) does not
  // match: the key ids differ by type.
  EXPECT_EQ(VerifySignature(*parsed, Vkey(*witness, "witness.example/w1", kEd25519)).code(),
            absl::StatusCode::kNotFound);
  // A changed size: both signatures fail.
  Note edited = *parsed;
  edited.text = Checkpoint{"attest.example/prod", 13, std::string(32, '\x07'), {}}.Format();
  EXPECT_EQ(VerifySignature(edited, lv).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(VerifySignature(edited, wv).code(), absl::StatusCode::kDataLoss);
  // A re-dated cosignature fails.
  Note redated = *parsed;
  redated.signatures[1].blob[7] ^= 1;
  EXPECT_EQ(VerifySignature(redated, wv).code(), absl::StatusCode::kDataLoss);
}

TEST(NoteTest, MalformedNotesAreRefusedWithTheReason) {
  const std::string sig = "\xe2\x80\x94 k AAAAAAAA\n";
  struct Case {
    std::string text;
    std::string why;
  } cases[] = {
      {"a\n\n", "at least one signature"},
      {"a\n" + sig, "blank line"},
      {"a\n\n" + sig.substr(0, sig.size() - 1), "ends with a newline"},
      {"a\tb\n\n" + sig, "control character"},
      {"a\n\n- k AAAAAAAA\n", "U+2014"},
      {"a\n\n\xe2\x80\x94 k+1 AAAAAAAA\n", "bad key name"},
      {"a\n\n\xe2\x80\x94 k AAAA\n", "not base64 of a key id"},
      {"a\n\n\xe2\x80\x94 k AAAAAAA*\n", "not base64"},
      {"\xff\n\n" + sig, "UTF-8"},
      {std::string(kMaxNoteBytes + 1, 'a'), "at most"},
  };
  for (const Case& c : cases) {
    auto n = Parse(c.text);
    ASSERT_FALSE(n.ok()) << c.text;
    EXPECT_NE(std::string(n.status().message()).find(c.why), std::string::npos)
        << n.status() << " for " << c.text;
  }
  std::string many = "a\n\n";
  for (size_t i = 0; i <= kMaxSignatures; ++i) many += sig;
  EXPECT_FALSE(Parse(many).ok());
  for (const char* body : {"o\n01\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n", "o\n1\nBwcH\n",
                           "\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n", "o\n1\n",
                           "o\n-1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n",
                           "o\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n\n"}) {
    EXPECT_FALSE(ParseCheckpoint(body).ok()) << body;
  }
}

TEST(NoteTest, Base64IsStrict) {
  std::string out;
  EXPECT_TRUE(Base64Decode("AAEC", &out));
  EXPECT_EQ(out, std::string("\x00\x01\x02", 3));
  EXPECT_TRUE(Base64Decode("AA==", &out));
  EXPECT_FALSE(Base64Decode("AB==", &out));  // non-zero unused bits
  EXPECT_FALSE(Base64Decode("AA=", &out));
  EXPECT_FALSE(Base64Decode("A===", &out));
  EXPECT_FALSE(Base64Decode("AA==AAAA", &out));
  EXPECT_FALSE(Base64Decode("AA AA", &out));
  for (const std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    ASSERT_TRUE(Base64Decode(Base64Encode(s), &out)) << s;
    EXPECT_EQ(out, s);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
}

}  // namespace
}  // namespace attest::evidence::note
