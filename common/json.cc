#include "common/json.h"

#include <charconv>
#include <cstring>

#include "common/strings.h"

namespace attest {

std::optional<uint64_t> Json::as_uint() const {
  if (auto* u = std::get_if<uint64_t>(&value_)) return *u;
  if (auto* i = std::get_if<int64_t>(&value_); i && *i >= 0) return static_cast<uint64_t>(*i);
  return std::nullopt;
}

std::optional<int64_t> Json::as_int() const {
  if (auto* i = std::get_if<int64_t>(&value_)) return *i;
  if (auto* u = std::get_if<uint64_t>(&value_); u && *u <= INT64_MAX) {
    return static_cast<int64_t>(*u);
  }
  return std::nullopt;
}

Json& Json::operator[](std::string_view key) {
  Object& o = as_object();
  auto it = o.find(key);
  if (it == o.end()) it = o.emplace(std::string(key), Json()).first;
  return it->second;
}

const Json* Json::Find(std::string_view key) const {
  const auto* o = std::get_if<Object>(&value_);
  if (o == nullptr) return nullptr;
  auto it = o->find(key);
  return it == o->end() ? nullptr : &it->second;
}

namespace {
// Characters a JSON string carries as they are.
inline bool Plain(char c) { return static_cast<unsigned char>(c) >= 0x20 && c != '"' && c != '\\'; }
}  // namespace

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (size_t i = 0; i < s.size();) {
    // Runs of plain characters are copied at once (most strings are one).
    size_t run = i;
    while (run < s.size() && Plain(s[run])) ++run;
    out->append(s.data() + i, run - i);
    if (run == s.size()) break;
    const char c = s[run];
    i = run + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out->append("\\u00");
          out->push_back(kHex[(c >> 4) & 0xf]);
          out->push_back(kHex[c & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void Json::AppendCanonical(std::string* out) const {
  std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::nullptr_t>) {
          out->append("null");
        } else if constexpr (std::is_same_v<T, bool>) {
          out->append(v ? "true" : "false");
        } else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, uint64_t>) {
          attest::StrAppend(out, v);
        } else if constexpr (std::is_same_v<T, double>) {
          char buf[32];
          auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
          out->append(buf, ec == std::errc() ? end : buf);
        } else if constexpr (std::is_same_v<T, std::string>) {
          AppendJsonString(out, v);
        } else if constexpr (std::is_same_v<T, Array>) {
          out->push_back('[');
          for (size_t i = 0; i < v.size(); ++i) {
            if (i > 0) out->push_back(',');
            v[i].AppendCanonical(out);
          }
          out->push_back(']');
        } else {
          out->push_back('{');
          bool first = true;
          for (const auto& [key, value] : v) {  // std::map: bytewise key order
            if (!first) out->push_back(',');
            first = false;
            AppendJsonString(out, key);
            out->push_back(':');
            value.AppendCanonical(out);
          }
          out->push_back('}');
        }
      },
      value_);
}

std::string Json::Canonical() const {
  std::string out;
  AppendCanonical(&out);
  return out;
}

namespace {

class Parser {
 public:
  using Object = Json::Object;
  Parser(std::string_view text, bool allow_fractions)
      : text_(text), allow_fractions_(allow_fractions) {}

  absl::StatusOr<Json> ParseDocument() {
    SkipSpace();
    auto v = ParseValue(0);
    if (!v.ok()) return v;
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected text after the JSON value");
    return v;
  }

 private:
  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(attest::StrCat("JSON: ", what, " at byte ", pos_));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Consume(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  absl::StatusOr<Json> ParseValue(int depth) {
    if (depth > 64) return Error("nesting too deep");
    if (pos_ >= text_.size()) return Error("unexpected end of input");
    const char c = text_[pos_];
    if (c == '{') return ParseObject(depth);
    if (c == '[') return ParseArray(depth);
    if (c == '"') {
      auto s = ParseString();
      if (!s.ok()) return s.status();
      return Json(std::move(*s));
    }
    if (Consume("true")) return Json(true);
    if (Consume("false")) return Json(false);
    if (Consume("null")) return Json(nullptr);
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber();
    return Error("unexpected character");
  }

  absl::StatusOr<Json> ParseNumber() {
    const size_t start = pos_;
    if (text_[pos_] == '-') ++pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
      if (!allow_fractions_) return Error("fractional numbers are not allowed");
      while (pos_ < text_.size() && strchr("0123456789.eE+-", text_[pos_]) != nullptr) ++pos_;
      double d = 0;
      const std::string_view number = text_.substr(start, pos_ - start);
      auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), d);
      if (ec != std::errc() || p != number.data() + number.size()) return Error("bad number");
      return Json(d);
    }
    std::string_view digits = text_.substr(start, pos_ - start);
    if (digits == "-" || digits.empty()) return Error("bad number");
    if (digits[0] == '-') {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
      if (ec != std::errc()) return Error("integer out of range");
      return Json(v);
    }
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc()) return Error("integer out of range");
    return Json(v);
  }

  static void AppendUtf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  absl::StatusOr<uint32_t> ParseHex4() {
    if (pos_ + 4 > text_.size()) return Error("short \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9')
        v |= h - '0';
      else if (h >= 'a' && h <= 'f')
        v |= h - 'a' + 10;
      else if (h >= 'A' && h <= 'F')
        v |= h - 'A' + 10;
      else
        return Error("bad \\u escape");
    }
    return v;
  }

  absl::StatusOr<std::string> ParseString() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      size_t run = pos_;
      while (run < text_.size() && Plain(text_[run])) ++run;
      out.append(text_.data() + pos_, run - pos_);
      pos_ = run;
      if (pos_ >= text_.size()) return Error("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return Error("control character in string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return Error("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u': {
          auto cp = ParseHex4();
          if (!cp.ok()) return cp.status();
          uint32_t code = *cp;
          if (code >= 0xd800 && code <= 0xdbff) {
            if (!Consume("\\u")) return Error("lone high surrogate");
            auto low = ParseHex4();
            if (!low.ok()) return low.status();
            if (*low < 0xdc00 || *low > 0xdfff) return Error("bad low surrogate");
            code = 0x10000 + ((code - 0xd800) << 10) + (*low - 0xdc00);
          } else if (code >= 0xdc00 && code <= 0xdfff) {
            return Error("lone low surrogate");
          }
          AppendUtf8(&out, code);
          break;
        }
        default:
          return Error("bad escape");
      }
    }
  }

  absl::StatusOr<Json> ParseArray(int depth) {
    ++pos_;
    Json arr = Json::MakeArray();
    SkipSpace();
    if (Consume("]")) return arr;
    while (true) {
      SkipSpace();
      auto v = ParseValue(depth + 1);
      if (!v.ok()) return v;
      arr.push_back(std::move(*v));
      SkipSpace();
      if (Consume("]")) return arr;
      if (!Consume(",")) return Error("expected ',' or ']'");
    }
  }

  absl::StatusOr<Json> ParseObject(int depth) {
    ++pos_;
    Json obj = Json::MakeObject();
    SkipSpace();
    if (Consume("}")) return obj;
    while (true) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Error("expected a key");
      auto key = ParseString();
      if (!key.ok()) return key.status();
      SkipSpace();
      if (!Consume(":")) return Error("expected ':'");
      SkipSpace();
      auto v = ParseValue(depth + 1);
      if (!v.ok()) return v;
      // Keys in canonical order (evidence lines) go in at the end with one
      // comparison; others find their place as before.
      Object& members = obj.as_object();
      const size_t had = members.size();
      members.emplace_hint(members.end(), std::move(*key), std::move(*v));
      if (members.size() == had) return Error("duplicate key");
      SkipSpace();
      if (Consume("}")) return obj;
      if (!Consume(",")) return Error("expected ',' or '}'");
    }
  }

  std::string_view text_;
  bool allow_fractions_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<Json> Json::Parse(std::string_view text) {
  return Parser(text, /*allow_fractions=*/false).ParseDocument();
}

absl::StatusOr<Json> Json::ParseReport(std::string_view text) {
  return Parser(text, /*allow_fractions=*/true).ParseDocument();
}

}  // namespace attest
