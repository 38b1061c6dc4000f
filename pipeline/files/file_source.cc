#include "pipeline/files/file_source.h"

#include "model/coding.h"
#include "pipeline/files/ndjson_reader.h"

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
    r->origin = {.input = input_,
                 .partition = 0,
                 .offset = record.line,
                 .end = record.end_offset};
    r->bytes.assign(record.bytes);
    r->size = record.size;
    return true;
  }
  absl::Status status() const override { return reader_->status(); }

 private:
  std::unique_ptr<NdjsonReader> reader_;
  const int32_t input_;
};

}  // namespace

std::string EncodeFilePosition(const FilePosition& p) {
  std::string out;
  BinaryWriter w(&out);
  w.Varint(p.inputs.size());
  for (const std::string& in : p.inputs) w.Bytes(in);
  w.Varint(p.file);
  w.Varint(p.offset);
  w.Varint(p.line);
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
      auto reader = NdjsonReader::Open(position_.inputs[position_.file]);
      if (!reader.ok()) {
        status_ = reader.status();
        break;
      }
      if (position_.offset > 0) {
        status_ = (*reader)->Seek(position_.offset, position_.line);
        if (!status_.ok()) break;
      }
      ahead_ = std::make_unique<DecodeAhead>(
          std::make_unique<NdjsonRecords>(*std::move(reader),
                                          static_cast<int32_t>(position_.file)),
          threads_, secret_);
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
  }
  ended_ = status_.ok();
  return {};
}

}  // namespace clearlane
