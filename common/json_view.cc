#include "common/json_view.h"

namespace attest {

std::optional<uint64_t> JsonView::as_uint() const {
  if (type_ != Type::kInt || (negative_ && number_ != 0)) return std::nullopt;
  return number_;
}

std::optional<int64_t> JsonView::as_int() const {
  if (type_ != Type::kInt) return std::nullopt;
  if (!negative_) {
    if (number_ > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(number_);
  }
  // Parse refused magnitudes beyond INT64_MIN's.
  return static_cast<int64_t>(0 - number_);
}

JsonView::Range<JsonView> JsonView::as_array() const {
  if (type_ != Type::kArray) return {nullptr, 0};
  return {doc_->values_.data() + number_, size_};
}

JsonView::Range<JsonMember> JsonView::as_object() const {
  if (type_ != Type::kObject) return {nullptr, 0};
  return {doc_->members_.data() + number_, size_};
}

const JsonView* JsonView::Find(std::string_view key) const {
  // Objects of evidence have a dozen keys at most: a scan beats a search.
  for (const JsonMember& m : as_object()) {
    if (m.key == key) return &m.value;
  }
  return nullptr;
}

bool JsonDoc::Parse(std::string_view text) {
  text_ = text;
  pos_ = 0;
  values_.clear();
  members_.clear();
  open_values_.clear();
  open_members_.clear();
  root_ = JsonView();
  return ParseValue(0, &root_) && pos_ == text_.size();
}

bool JsonDoc::ParseValue(int depth, JsonView* out) {
  if (depth > 64 || pos_ >= text_.size()) return false;
  const char c = text_[pos_];
  if (c == '{') return ParseObject(depth, out);
  if (c == '[') return ParseArray(depth, out);
  if (c == '"') {
    out->type_ = JsonView::Type::kString;
    return ParseString(&out->text_);
  }
  if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
  for (const auto& [word, type, value] :
       {std::tuple<std::string_view, JsonView::Type, uint64_t>{"true", JsonView::Type::kBool, 1},
        {"false", JsonView::Type::kBool, 0},
        {"null", JsonView::Type::kNull, 0}}) {
    if (text_.substr(pos_, word.size()) == word) {
      pos_ += word.size();
      out->type_ = type;
      out->number_ = value;
      return true;
    }
  }
  return false;
}

bool JsonDoc::ParseString(std::string_view* out) {
  const size_t start = ++pos_;  // after the opening quote
  const size_t end = text_.find('"', start);
  if (end == std::string_view::npos) return false;
  // An escape (or a raw control character, which JSON refuses): the
  // canonical form may still need it, but Json::Parse reads it. (A quote
  // after a backslash is no end: the backslash alone sends the line there.)
  bool plain = true;
  for (size_t i = start; i < end; ++i) {
    const unsigned char c = static_cast<unsigned char>(text_[i]);
    plain &= c != '\\' && c >= 0x20;
  }
  if (!plain) return false;
  *out = text_.substr(start, end - start);
  pos_ = end + 1;
  return true;
}

bool JsonDoc::ParseNumber(JsonView* out) {
  out->type_ = JsonView::Type::kInt;
  out->negative_ = text_[pos_] == '-';
  if (out->negative_) ++pos_;
  const size_t start = pos_;
  uint64_t v = 0;
  while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
    const uint64_t digit = static_cast<uint64_t>(text_[pos_] - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
    ++pos_;
  }
  const size_t digits = pos_ - start;
  // Canonical integers only: no leading zero, no "-0", nothing fractional.
  if (digits == 0 || (text_[start] == '0' && (digits > 1 || out->negative_))) return false;
  if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
    return false;
  }
  if (out->negative_ && v > static_cast<uint64_t>(INT64_MAX) + 1) return false;
  out->number_ = v;
  return true;
}

template <typename T>
void JsonDoc::Close(JsonView::Type type, std::vector<T>* open, size_t from, std::vector<T>* done,
                    JsonView* out) {
  out->type_ = type;
  out->doc_ = this;
  out->number_ = done->size();
  out->size_ = static_cast<uint32_t>(open->size() - from);
  done->insert(done->end(), open->begin() + static_cast<ptrdiff_t>(from), open->end());
  open->resize(from);
}

bool JsonDoc::ParseArray(int depth, JsonView* out) {
  ++pos_;
  const size_t open = open_values_.size();
  if (pos_ < text_.size() && text_[pos_] == ']') {
    ++pos_;
  } else {
    for (;;) {
      JsonView v;
      if (!ParseValue(depth + 1, &v)) return false;
      open_values_.push_back(v);
      if (pos_ >= text_.size()) return false;
      const char c = text_[pos_++];
      if (c == ']') break;
      if (c != ',') return false;
    }
  }
  Close(JsonView::Type::kArray, &open_values_, open, &values_, out);
  return true;
}

bool JsonDoc::ParseObject(int depth, JsonView* out) {
  ++pos_;
  const size_t open = open_members_.size();
  if (pos_ < text_.size() && text_[pos_] == '}') {
    ++pos_;
  } else {
    for (;;) {
      JsonMember m;
      if (pos_ >= text_.size() || text_[pos_] != '"' || !ParseString(&m.key)) return false;
      // Strictly ascending: canonical order, and no key twice.
      if (open_members_.size() > open && !(open_members_.back().key < m.key)) return false;
      if (pos_ >= text_.size() || text_[pos_++] != ':') return false;
      if (!ParseValue(depth + 1, &m.value)) return false;
      open_members_.push_back(m);
      if (pos_ >= text_.size()) return false;
      const char c = text_[pos_++];
      if (c == '}') break;
      if (c != ',') return false;
    }
  }
  Close(JsonView::Type::kObject, &open_members_, open, &members_, out);
  return true;
}

}  // namespace attest
