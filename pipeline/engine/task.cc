#include "pipeline/engine/task.h"

#include <variant>

#include "absl/strings/str_format.h"
#include "model/document_codec.h"
#include "model/encode.h"
#include "model/event_time.h"
#include "operators/allowance.h"
#include "operators/summary.h"
#include "operators/waybill_index.h"
#include "pipeline/observe/metrics.h"

namespace clearlane {
namespace {

// A dead letter's Kafka key (contract §1): where its record came from.
std::string DeadLetterKey(const std::variant<FileSource, TopicSource>& source) {
  if (const auto* t = std::get_if<TopicSource>(&source)) {
    return t->record > 0
               ? absl::StrFormat("%s/%d/%d/%d", t->topic, t->partition,
                                 t->offset, t->record)
               : absl::StrFormat("%s/%d/%d", t->topic, t->partition, t->offset);
  }
  const auto& f = std::get<FileSource>(source);
  return f.record > 0 ? absl::StrFormat("%s:%d/%d", f.file, f.line, f.record)
                      : absl::StrFormat("%s:%d", f.file, f.line);
}

}  // namespace

Task::Task(ClearanceConfig config, TaskContext* context, EpochCommitter* epoch,
           std::string_view secret, bool mask_dead_letters)
    : clearance_(config),
      context_(context),
      epoch_(epoch),
      hash_(secret),
      mask_dead_letters_(mask_dead_letters) {}

void Task::DeadLetter(const DecodedRecord& record, const RecordSource& source,
                      DeadLetterCode code, std::string_view detail) {
  if (metrics_) metrics_->DeadLetter(DeadLetterCodeName(code));
  std::variant<FileSource, TopicSource> origin = source.SourceOf(record.origin);
  std::string key = DeadLetterKey(origin);
  std::string line;
  EncodeDeadLetter(
      {std::move(origin), code, std::string(detail), std::string(record.bytes)},
      &line, mask_dead_letters_);
  epoch_->Emit(OutputStream::kDeadLetters, std::move(key), std::move(line));
}

std::optional<int64_t> Task::Process(DecodedRecord& record,
                                     const RecordSource& source,
                                     std::optional<int64_t> watermark) {
  if (record.exchange != DecodedRecord::Exchange::kNone) {
    ProcessExchange(record, source);
    return std::nullopt;  // the exchange carries no event time
  }
  if (record.size == 0) return std::nullopt;  // a tombstone is no document
  const DecodeOutcome& outcome = record.outcome;
  if (metrics_) {
    const DocType type = outcome.ok() ? TypeOf(record.doc) : DocType{};
    metrics_->Record(source.InputName(record.origin.input),
                     outcome.ok() ? &type : nullptr);
  }
  if (!outcome.ok()) {
    DeadLetter(record, source, outcome.code(), outcome.detail());
    return std::nullopt;
  }
  if (import_only_ && TypeOf(record.doc) >= DocType::kCeb303) {
    const auto from = source.SourceOf(record.origin);
    const TopicSource* topic = std::get_if<TopicSource>(&from);
    context_->Fail(absl::FailedPreconditionError(absl::StrFormat(
        "%s [%d] offset %d is an export document (%s): group.members = many "
        "divides import documents only, since stage L does not cross "
        "processes yet (docs/kafka-mode.md \"Scaling out\"); stopping "
        "before it changes anything",
        topic ? topic->topic : std::string_view("?"),
        topic ? topic->partition : -1, topic ? topic->offset : -1,
        DocTypeName(TypeOf(record.doc)))));
    return std::nullopt;
  }
  context_->set_watermark(watermark);
  std::string form =
      !record.state_form.empty()
          ? std::move(record.state_form)
          : EncodeDocument(record.doc,
                           [this](std::string_view v) { return hash_(v); });
  std::optional<Refusal> refused =
      clearance_.OnDocument(record.doc, std::move(form), *context_);
  if (refused) {
    DeadLetter(record, source, refused->code, refused->detail);
    return std::nullopt;  // a dead letter does not move event time
  }
  return ToEpochSeconds(HeadOf(record.doc).appTime);
}

void Task::ProcessExchange(const DecodedRecord& record,
                           const RecordSource& source) {
  const std::string_view bytes = record.bytes;
  using Kind = Metrics::Exchanged;
  Kind kind = Kind::kRequest;  // unless the record says otherwise
  absl::Status refused;
  if (record.exchange == DecodedRecord::Exchange::kClosedLists) {
    kind = IsWatermarkMark(bytes) ? Kind::kWatermarkMark : Kind::kClosedList;
    refused = ProcessClosedListOrMark(bytes);
  } else if (record.exchange == DecodedRecord::Exchange::kAnswers &&
             IsLetGo(bytes)) {
    kind = Kind::kLetGo;
    auto go = DecodeLetGo(bytes);
    if (go.ok()) {
      clearance_.OnLetGo(*go, *context_);
    } else {
      refused = go.status();
    }
  } else if (record.exchange == DecodedRecord::Exchange::kAnswers) {
    kind = Kind::kAnswer;
    auto answer = DecodeAllowanceAnswer(bytes);
    if (answer.ok()) {
      if (clearance_.OnAllowanceAnswer(*answer, *context_)) {
        context_->AllowanceAnswered();
      }
    } else {
      refused = answer.status();
    }
  } else if (IsWaybillFact(bytes)) {
    kind = Kind::kWaybillFact;
    auto fact = DecodeWaybillFact(bytes);
    if (fact.ok()) {
      clearance_.OnWaybillFact(*fact, *context_);
    } else {
      refused = fact.status();
    }
  } else if (IsGiveBack(bytes)) {
    kind = Kind::kGiveBack;
    auto back = DecodeGiveBack(bytes);
    if (back.ok()) {
      ApplyGiveBack(*back, *context_);
    } else {
      refused = back.status();
    }
  } else {
    auto request = DecodeAllowanceRequest(bytes);
    if (request.ok()) {
      const AllowanceAnswer answer = AnswerAllowance(*request, *context_);
      // The writer of an answer is the buyer's task: the partition the
      // request came from.
      context_->EmitExchange(OutputStream::kAllowanceAnswers,
                             record.origin.partition, request->list.orderNo,
                             EncodeAllowanceAnswer(answer));
    } else {
      refused = request.status();
    }
  }
  if (metrics_ && refused.ok()) metrics_->Exchange(kind);
  if (!refused.ok()) {
    const auto origin = source.SourceOf(record.origin);
    const TopicSource* at = std::get_if<TopicSource>(&origin);
    context_->Fail(absl::DataLossError(absl::StrFormat(
        "%s [%d] offset %d: %s (written by another program, or a clearlane "
        "of another version?)",
        at ? at->topic : "exchange", record.origin.partition,
        record.origin.offset, refused.message())));
  }
}

// Stage C's end (Kafka mode): its event time moves to the watermark a
// record brings, the months whose close is due by then close, and a closed
// list then enters its month seen at that time: as in replay, a list
// closed before a month's close was due is in the month's first forms,
// one closed after it in a supplement, however late its record came.
absl::Status Task::ProcessClosedListOrMark(std::string_view bytes) {
  if (IsWatermarkMark(bytes)) {
    absl::StatusOr<int64_t> w = DecodeWatermarkMark(bytes);
    if (!w.ok()) return w.status();
    context_->AdvanceSummaryWatermark(*w);
    CloseMonths();
    return absl::OkStatus();
  }
  absl::StatusOr<ClosedListRecord> closed = DecodeClosedListRecord(bytes);
  if (!closed.ok()) return closed.status();
  context_->AdvanceSummaryWatermark(closed->watermark);
  CloseMonths();
  // Stage C sees its own event time; the rest of the task, its own again.
  const std::optional<int64_t> own = context_->Watermark();
  context_->set_watermark(context_->summary_watermark());
  clearance_.OnClosedList(*closed, *context_);
  context_->set_watermark(own);
  return absl::OkStatus();
}

void Task::CloseMonths() {
  const std::optional<int64_t> limit = context_->summary_watermark();
  int64_t due;
  int32_t period;
  while (limit && context_->NextMonthClose(&due, &period) && due <= *limit) {
    clearance_.OnMonthClose(period, *context_);
  }
}

absl::Status Task::Punctuate(int64_t limit,
                             absl::FunctionRef<absl::Status()> after_each) {
  TimerStore& timers = context_->timers();
  while (true) {
    int64_t due;
    int32_t period;
    if (const Timer* next = timers.Next(); next && next->due <= limit) {
      const Timer fired = *next;
      timers.Pop();
      clearance_.OnTimeout(fired.list, fired.due, *context_);
    } else if (context_->months_here() &&
               context_->NextMonthClose(&due, &period) && due <= limit) {
      clearance_.OnMonthClose(period, *context_);
    } else {
      break;
    }
    absl::Status st = after_each();
    if (!st.ok()) return st;
  }
  return context_->status();
}

absl::Status Task::Drain(absl::FunctionRef<absl::Status()> after_each) {
  absl::Status st = Punctuate(INT64_MAX, after_each);
  if (!st.ok()) return st;
  clearance_.OnEndOfInput(*context_);
  return context_->status();
}

}  // namespace clearlane
