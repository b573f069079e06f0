// A read-only JSON document for hot paths that read canonical JSON, such
// as verify's record lines. Strings are views into the parsed text, and
// the values live in the document's buffers, which the next Parse reuses:
// once warm, parsing allocates nothing.
//
// It reads only canonical JSON (common/json.h) whose strings carry no
// escapes: no whitespace, keys in strictly ascending byte order, integers
// without leading zeros. For anything else Parse returns false, and the
// caller parses with Json::Parse, which accepts more and names what is
// wrong. Where both parse a text, they read the same values, so code
// written against both (the interchange parsers) gives the same result.
#ifndef ATTEST_COMMON_JSON_VIEW_H_
#define ATTEST_COMMON_JSON_VIEW_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>
#include <vector>

namespace attest {

class JsonDoc;
struct JsonMember;

class JsonView {
 public:
  // A run of values (an array) or members (an object).
  template <typename T>
  class Range {
   public:
    Range(const T* begin, size_t size) : begin_(begin), size_(size) {}
    const T* begin() const { return begin_; }
    const T* end() const { return begin_ + size_; }
    size_t size() const { return size_; }
    const T& operator[](size_t i) const { return begin_[i]; }

   private:
    const T* begin_;
    size_t size_;
  };

  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_int() const { return type_ == Type::kInt; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // Accessors for a value of the type; others give an empty value.
  bool as_bool() const { return type_ == Type::kBool && number_ != 0; }
  std::string_view as_string() const { return text_; }
  std::optional<uint64_t> as_uint() const;
  std::optional<int64_t> as_int() const;
  Range<JsonView> as_array() const;
  Range<JsonMember> as_object() const;
  // nullptr when absent or when this is not an object.
  const JsonView* Find(std::string_view key) const;

 private:
  friend class JsonDoc;
  enum class Type : uint8_t { kNull, kBool, kInt, kString, kArray, kObject };
  Type type_ = Type::kNull;
  bool negative_ = false;         // kInt
  uint32_t size_ = 0;             // kArray, kObject: how many
  uint64_t number_ = 0;           // kBool, kInt (magnitude); kArray, kObject: first index
  std::string_view text_;         // kString
  const JsonDoc* doc_ = nullptr;  // kArray, kObject
};

struct JsonMember {
  std::string_view key;
  JsonView value;
};

class JsonDoc {
 public:
  JsonDoc() = default;
  // Views point into the document that read them: never copied.
  JsonDoc(const JsonDoc&) = delete;
  JsonDoc& operator=(const JsonDoc&) = delete;

  // Parses `text`, which must outlive the views. False when the text is
  // not canonical JSON without string escapes (see the file comment).
  bool Parse(std::string_view text);
  // The document's value (valid after Parse returned true).
  const JsonView& root() const { return root_; }

 private:
  friend class JsonView;
  bool ParseValue(int depth, JsonView* out);
  bool ParseString(std::string_view* out);
  bool ParseNumber(JsonView* out);
  bool ParseArray(int depth, JsonView* out);
  bool ParseObject(int depth, JsonView* out);
  // Moves the contents of the array or object just read, open[from...],
  // to the end of `done`, and makes `out` that array or object.
  template <typename T>
  void Close(JsonView::Type type, std::vector<T>* open, size_t from, std::vector<T>* done,
             JsonView* out);

  std::string_view text_;
  size_t pos_ = 0;
  JsonView root_;
  // Finished arrays' and objects' contents, each contiguous.
  std::vector<JsonView> values_;
  std::vector<JsonMember> members_;
  // Contents of the arrays and objects still open, innermost last.
  std::vector<JsonView> open_values_;
  std::vector<JsonMember> open_members_;
};

}  // namespace attest

#endif  // ATTEST_COMMON_JSON_VIEW_H_
