#include "common/http_client.h"

#include "gtest/gtest.h"

namespace attest {
namespace {

std::string Parsed(std::string_view url) {
  auto u = ParseHttpUrl(url);
  if (!u.ok()) return std::string(u.status().message());
  return std::string(u->tls ? "https " : "http ") + u->host + " " + u->port + " " + u->path;
}

TEST(HttpUrlTest, SchemesPortsAndPaths) {
  EXPECT_EQ(Parsed("http://am:9093"), "http am 9093 ");
  EXPECT_EQ(Parsed("https://am.example.com:9443/prefix/"), "https am.example.com 9443 /prefix");
  EXPECT_EQ(Parsed("https://am.example.com"), "https am.example.com 443 ");
  EXPECT_EQ(Parsed("http://am/x"), "http am 80 /x");
  EXPECT_EQ(Parsed("http://[::1]:9093"), "http ::1 9093 ");
  EXPECT_EQ(Parsed("https://[2001:db8::1]"), "https 2001:db8::1 443 ");
}

TEST(HttpUrlTest, WhatIsNotAnAlertmanagerUrlIsRefusedWithTheReason) {
  EXPECT_EQ(Parsed("ftp://am:21"),
            "URL ftp://am:21: only http[s]://HOST[:PORT][/PATH] is supported");
  EXPECT_EQ(Parsed("am:9093"), "URL am:9093: only http[s]://HOST[:PORT][/PATH] is supported");
  EXPECT_EQ(Parsed("http://:9093"), "URL http://:9093: no host");
  EXPECT_EQ(Parsed("http://am:"), "URL http://am:: bad port");
  EXPECT_EQ(Parsed("http://am:90x3"), "URL http://am:90x3: bad port");
  EXPECT_EQ(Parsed("http://am:65536"), "URL http://am:65536: bad port");
  EXPECT_EQ(Parsed("http://[::1"), "URL http://[::1: unclosed [");
  EXPECT_EQ(Parsed("http://[::1]x"), "URL http://[::1]x: bad port");
  EXPECT_EQ(Parsed("https://user:secret@am:9093"), "a URL with user[:password]@ is not supported");
}

}  // namespace
}  // namespace attest
