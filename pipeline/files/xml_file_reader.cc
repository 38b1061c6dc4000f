#include "pipeline/files/xml_file_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_format.h"
#include "model/decode.h"
#include "model/xml_message.h"

namespace clearlane {
namespace {

// Bytes kept of an over-long message: enough for the dead letter's raw
// (kMaxRawBytes) plus the rest of a character cut at its end.
constexpr size_t kHeadBytes = 8192;

constexpr std::string_view kBom = "\xEF\xBB\xBF";

}  // namespace

absl::StatusOr<bool> IsXmlFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    return absl::NotFoundError(
        absl::StrFormat("cannot open %s: %s", path, strerror(errno)));
  }
  char buf[4096];
  const size_t n = std::fread(buf, 1, sizeof buf, f);
  std::fclose(f);
  return LooksLikeXml(std::string_view(buf, n));
}

absl::StatusOr<std::unique_ptr<XmlFileReader>> XmlFileReader::Open(
    const std::string& path) {
  absl::StatusOr<BufferedFile> in = BufferedFile::Open(path);
  if (!in.ok()) return in.status();
  return std::unique_ptr<XmlFileReader>(new XmlFileReader(*std::move(in)));
}

void XmlFileReader::Consume(size_t n) {
  const std::string_view bytes = in_.unread().substr(0, n);
  line_ += std::count(bytes.begin(), bytes.end(), '\n');
  in_.Consume(n);
}

std::unique_ptr<XmlFileReader> XmlFileReader::Over(BufferedFile in,
                                                   int64_t lines_before) {
  std::unique_ptr<XmlFileReader> reader(new XmlFileReader(std::move(in)));
  reader->line_ = lines_before;
  return reader;
}

size_t XmlFileReader::SkipRest(std::string_view name) {
  const std::string close = std::string("</").append(name);
  size_t skipped = 0;
  while (true) {
    const std::string_view u = in_.unread();
    size_t at = name.empty() ? std::string_view::npos : u.find(close);
    while (at != std::string_view::npos && at + close.size() < u.size() &&
           !IsJsonSpace(u[at + close.size()]) && u[at + close.size()] != '>') {
      at = u.find(close, at + 1);
    }
    if (at != std::string_view::npos && at + close.size() < u.size()) {
      const size_t gt = u.find('>', at + close.size());
      if (gt != std::string_view::npos) {
        Consume(gt + 1);
        return skipped + gt + 1;
      }
    }
    // Keep what may be the start of the closing tag.
    const size_t keep = at != std::string_view::npos
                            ? u.size() - at
                            : std::min(u.size(), close.size());
    skipped += u.size() - keep;
    Consume(u.size() - keep);
    if (!in_.Fill()) {  // the message never ends: it is the rest
      const size_t rest = in_.unread().size();
      Consume(rest);
      return skipped + rest;
    }
  }
}

bool XmlFileReader::Next(Message* message) {
  if (in_.offset() == 0) {
    while (in_.unread().size() < kBom.size() && in_.Fill()) {
    }
    if (in_.unread().starts_with(kBom)) in_.Consume(kBom.size());
  }
  while (true) {  // past the spaces before the message
    const std::string_view u = in_.unread();
    size_t i = 0;
    while (i < u.size() && IsJsonSpace(u[i])) ++i;
    Consume(i);
    if (!in_.unread().empty()) break;
    if (!in_.Fill()) return false;  // the end, or an error
  }
  message->start = in_.offset();
  message->line = line_ + 1;
  size_t end;
  while ((end = XmlMessageEnd(in_.unread())) == std::string_view::npos &&
         in_.unread().size() <= kMaxXmlMessageBytes && in_.Fill()) {
  }
  if (!in_.status().ok()) return false;
  if (end == std::string_view::npos &&
      in_.unread().size() > kMaxXmlMessageBytes) {
    head_.assign(in_.unread().substr(0, kHeadBytes));
    const std::string name(XmlRootName(in_.unread()));
    message->text = head_;
    message->size = SkipRest(name);
    if (!in_.status().ok()) return false;
  } else {
    if (end == std::string_view::npos) end = in_.unread().size();
    message->text = in_.unread().substr(0, end);
    message->size = end;
    Consume(end);
  }
  message->end = in_.offset();
  message->end_line = line_;
  return true;
}

}  // namespace clearlane
