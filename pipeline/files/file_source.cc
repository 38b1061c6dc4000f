#include "pipeline/files/file_source.h"

#include "model/coding.h"
#include "model/xml_message.h"
#include "pipeline/files/ndjson_reader.h"
#include "pipeline/files/xml_file_reader.h"

namespace clearlane {
namespace {

// One NDJSON file as DecodeAhead's reader.
class NdjsonRecords : public RecordReader {
 public:
  NdjsonRecords(std::unique_ptr<NdjsonReader> reader, int32_t input)
      : reader_(std::move(reader)), input_(input) {}
  bool Next(DecodedRecord* r) override {
    NdjsonReader::Record record;
    if (!reader_->Next(&record)) return false;
    SetJsonRecord(r,
                  {.input = input_,
                   .partition = 0,
                   .offset = record.line,
                   .end = record.end_offset,
                   .end_line = record.line},
                  record.bytes, record.size);
    return true;
  }
  absl::Status status() const override { return reader_->status(); }

 private:
  std::unique_ptr<NdjsonReader> reader_;
  const int32_t input_;
};

// One file of CEB XML messages as DecodeAhead's reader: the records of
// each message in turn (contract §11), the first `skip` of the first
// message left out (processed before a restart).
class XmlRecords : public RecordReader {
 public:
  XmlRecords(std::unique_ptr<XmlFileReader> reader, int32_t input, int64_t skip)
      : reader_(std::move(reader)), input_(input), skip_(skip) {}
  bool Next(DecodedRecord* r) override {
    while (next_ == count_) {
      XmlFileReader::Message m;
      if (!reader_->Next(&m)) return false;
      next_ = count_ = 0;
      ReadXmlRecords(xml_, m.text, m.size,
                     {.input = input_,
                      .partition = 0,
                      .offset = m.line,
                      .end = m.end,
                      .end_line = m.end_line,
                      .start = m.start},
                     skip_, &pending_, &count_);
      skip_ = 0;
    }
    std::swap(*r, pending_[next_++]);
    return true;
  }
  absl::Status status() const override { return reader_->status(); }

 private:
  std::unique_ptr<XmlFileReader> reader_;
  const int32_t input_;
  int64_t skip_;
  XmlReader xml_;
  std::vector<DecodedRecord> pending_;  // of the message read last
  size_t next_ = 0, count_ = 0;
};

// Bytes looked at to tell an XML file from an NDJSON one (contract §11).
constexpr size_t kSniffBytes = 4096;

// The reader of the input `position` stands in, positioned there.
absl::StatusOr<std::unique_ptr<RecordReader>> OpenInput(
    const FilePosition& position) {
  const std::string& path = position.inputs[position.file];
  const auto input = static_cast<int32_t>(position.file);
  absl::StatusOr<BufferedFile> in = BufferedFile::Open(path);
  if (!in.ok()) return in.status();
  while (in->unread().size() < kSniffBytes && in->Fill()) {
  }
  if (!in->status().ok()) return in->status();
  const bool xml = LooksLikeXml(in->unread());
  if (position.offset > 0 || position.record > 0) {
    if (absl::Status st = in->Seek(position.offset); !st.ok()) return st;
  }
  if (xml) {
    return std::make_unique<XmlRecords>(
        XmlFileReader::Over(*std::move(in), position.line), input,
        position.record);
  }
  return std::make_unique<NdjsonRecords>(
      NdjsonReader::Over(*std::move(in), position.line), input);
}

}  // namespace

std::string EncodeFilePosition(const FilePosition& p) {
  std::string out;
  BinaryWriter w(&out);
  w.Varint(p.inputs.size());
  for (const std::string& in : p.inputs) w.Bytes(in);
  w.Varint(p.file);
  w.Varint(p.offset);
  w.Varint(p.line);
  w.Varint(p.record);
  return out;
}

absl::StatusOr<FilePosition> DecodeFilePosition(std::string_view bytes) {
  BinaryReader r(bytes);
  FilePosition p;
  const uint64_t n = r.Varint();
  for (uint64_t i = 0; i < n && r.ok(); ++i) p.inputs.emplace_back(r.Bytes());
  p.file = static_cast<int64_t>(r.Varint());
  p.offset = r.Varint();
  p.line = static_cast<int64_t>(r.Varint());
  // Positions written before XML input have no record count.
  if (r.ok() && !r.done()) p.record = static_cast<int64_t>(r.Varint());
  if (!r.ok() || !r.done()) {
    return absl::DataLossError("replay position is corrupt");
  }
  return p;
}

FileRecordSource::FileRecordSource(FilePosition start, int threads,
                                   std::string secret)
    : position_(std::move(start)),
      threads_(std::max(1, threads)),
      secret_(std::move(secret)) {}

FileRecordSource::~FileRecordSource() = default;

absl::Span<DecodedRecord> FileRecordSource::Next() {
  while (status_.ok() &&
         position_.file < static_cast<int64_t>(position_.inputs.size())) {
    if (!ahead_) {
      auto reader = OpenInput(position_);
      if (!reader.ok()) {
        status_ = reader.status();
        break;
      }
      ahead_ =
          std::make_unique<DecodeAhead>(*std::move(reader), threads_, secret_);
    }
    absl::Span<DecodedRecord> batch = ahead_->Next();
    if (!batch.empty()) return batch;
    status_ = ahead_->status();
    if (!status_.ok()) break;
    // The file is done, and so is every record of it handed out before.
    ahead_.reset();
    position_.file++;
    position_.offset = 0;
    position_.line = 0;
    position_.record = 0;
  }
  ended_ = status_.ok();
  return {};
}

}  // namespace clearlane
