// Stage A of the import flow (1210 and 9610 import): the held version of
// each document (contract §1 "appType"), matching a list with its order,
// payment and waybill (三单对碰), the checks of contract §5, the decision
// when the list is complete or its timeout fires, and cancels (CEB623) and
// returns (CEB625) of decided lists (海关总署公告2018年第194号); the tax and
// the single-transaction limit, and what the buyer's task (stage B,
// allowance.cc) is asked and answers.

#include <algorithm>
#include <map>

#include "absl/strings/str_format.h"
#include "model/document_codec.h"
#include "model/event_time.h"
#include "model/identity_number.h"
#include "operators/clearance.h"
#include "operators/clearance_helpers.h"
#include "operators/import_rules.h"

namespace clearlane {
namespace {

using clearance_internal::AlreadyDecided;
using clearance_internal::AwaitingAllowance;
using clearance_internal::EchoInto;
using clearance_internal::EchoList;
using clearance_internal::GuidFor;
using clearance_internal::Present;
using clearance_internal::ReceiptType;
using clearance_internal::Seconds;

// 财关税〔2018〕49号: the single-transaction limit.
const Decimal kSingleLimit = Decimal::FromInteger(5000);

// A cancel's or return's identity and time.
struct CancelOrReturn {
  explicit CancelOrReturn(const Document& doc)
      : type(TypeOf(doc)),
        is_return(type == DocType::kCeb625),
        cancel(std::get_if<Ceb623Cancel>(&doc)),
        ret(std::get_if<Ceb625Return>(&doc)),
        ebpCode(is_return ? ret->ebpCode : cancel->ebpCode),
        orderNo(is_return ? ret->orderNo : cancel->orderNo),
        head(HeadOf(doc)),
        t(Seconds(head.appTime)) {}
  DocType type;
  bool is_return;
  const Ceb623Cancel* cancel;
  const Ceb625Return* ret;
  std::string ebpCode, orderNo;
  const DocumentHead& head;
  int64_t t;
};

}  // namespace

void Clearance::OnOrderOrPayment(DocType type, std::string_view ebpCode,
                                 std::string_view orderNo, const Document& doc,
                                 std::string state_form, StageContext& ctx) {
  const DocumentHead& head = HeadOf(doc);
  OrderGroup& g = ctx.Group(orderNo);
  const int64_t t = Seconds(head.appTime);
  auto [it, fresh] = g.docs.try_emplace({type, std::string(ebpCode)});
  Version& held = it->second;
  if (!fresh && t <= held.appTime) return;  // stale or duplicate
  held.appTime = t;
  held.deleted = head.appType == AppType::kDelete;
  held.encoded = held.deleted ? std::string() : std::move(state_form);
  const bool is_export = type == DocType::kCeb303 || type == DocType::kCeb403;
  const ListKey key{is_export ? DocType::kCeb603 : DocType::kCeb621,
                    std::string(ebpCode), std::string(orderNo)};
  if (is_export) {
    TryCompleteExport(g, key, ctx);
  } else {
    TryComplete(g, key, ctx);
  }
}

void Clearance::OnWaybill(const Ceb511Waybill& w, std::string state_form,
                          StageContext& ctx) {
  const WaybillFact fact{std::string(w.logisticsCode),
                         std::string(w.logisticsNo), Seconds(w.appTime),
                         w.appType == AppType::kDelete, std::string(w.orderNo)};
  const std::pair<std::string, std::string> id{fact.logisticsCode,
                                               fact.logisticsNo};
  // The order's own copy is a version too, and so is a copy it lost
  // (operators/waybill_index.h): what its task alone can judge.
  if (!fact.orderNo.empty()) {
    const OrderGroup& g = ctx.Group(fact.orderNo);
    if (auto v = g.waybills.find(id);
        v != g.waybills.end() && fact.appTime <= v->second.appTime) {
      return;
    }
  }
  // The index here answers at once; elsewhere it answers later, with a
  // LetGo if this version lost.
  if (!ctx.SendWaybillFact(fact) && !IndexWaybill(fact, ctx)) return;
  if (fact.orderNo.empty()) return;  // cannot be matched to any list
  OrderGroup& g = ctx.Group(fact.orderNo);
  if (fact.deleted) {
    g.waybills[id] = Version{fact.appTime, true, std::string()};
    return;
  }
  g.waybills[id] = Version{fact.appTime, false, std::move(state_form)};
  // Lists of any platform with this orderNo may now be complete.
  std::vector<ListKey> keys;
  for (const auto& [k, entry] : g.lists) {
    if (k.first == DocType::kCeb621) {
      keys.push_back({k.first, k.second, fact.orderNo});
    }
  }
  for (const ListKey& k : keys) TryComplete(g, k, ctx);
}

bool Clearance::IndexWaybill(const WaybillFact& fact, StageContext& ctx) {
  const WaybillVersion* held =
      ctx.Waybill(fact.logisticsCode, fact.logisticsNo);
  if (held && fact.appTime <= held->appTime) return false;
  // A new version may name another orderNo: the old one lets go.
  if (held && !held->deleted && !held->orderNo.empty() &&
      held->orderNo != fact.orderNo) {
    LetGoOf({fact.logisticsCode, fact.logisticsNo, held->orderNo, fact.appTime},
            ctx);
  }
  ctx.PutWaybill(fact.logisticsCode, fact.logisticsNo,
                 {fact.appTime, fact.deleted, fact.orderNo});
  return true;
}

void Clearance::OnWaybillFact(const WaybillFact& fact, StageContext& ctx) {
  if (IndexWaybill(fact, ctx) || fact.orderNo.empty()) return;
  // The order took a version older than the one held (told first, from
  // another order's task or its own): it lets go at the held one's time.
  const WaybillVersion* held =
      ctx.Waybill(fact.logisticsCode, fact.logisticsNo);
  LetGoOf({fact.logisticsCode, fact.logisticsNo, fact.orderNo, held->appTime},
          ctx);
}

void Clearance::LetGoOf(const LetGo& go, StageContext& ctx) {
  if (!ctx.SendLetGo(go)) OnLetGo(go, ctx);
}

void Clearance::OnLetGo(const LetGo& go, StageContext& ctx) {
  OrderGroup& g = ctx.Group(go.orderNo);
  auto [it, fresh] = g.waybills.try_emplace({go.logisticsCode, go.logisticsNo});
  if (!fresh && go.appTime <= it->second.appTime) return;
  // A list already decided with the copy stays decided (contract §1); one
  // still waiting no longer has it.
  it->second = Version{go.appTime, true, std::string()};
}

std::optional<Refusal> Clearance::OnList(const Ceb621List& list,
                                         std::string state_form,
                                         StageContext& ctx) {
  OrderGroup& g = ctx.Group(list.orderNo);
  const ListKey key{DocType::kCeb621, std::string(list.ebpCode),
                    std::string(list.orderNo)};
  const int64_t t = Seconds(list.appTime);
  auto it = g.lists.find({key.type, key.ebpCode});
  if (it != g.lists.end()) {
    ListEntry& entry = it->second;
    if (t <= entry.version.appTime) return std::nullopt;  // stale, duplicate
    if (entry.decision) return AlreadyDecided(key, *entry.decision);
    if (entry.pending) return AwaitingAllowance(key, entry.pending->decided_at);
    if (entry.version.present()) {
      ctx.CancelTimer(entry.version.appTime + config_.import_timeout, key);
    }
  }
  ListEntry& entry = g.lists[{key.type, key.ebpCode}];
  entry.version.appTime = t;
  entry.version.deleted = list.appType == AppType::kDelete;
  entry.version.encoded =
      entry.version.deleted ? std::string() : std::move(state_form);
  entry.id_problem.clear();
  // Withdrawn: no receipt (contract §1).
  if (entry.version.deleted) return std::nullopt;
  // The identity number is in clear only now: check it before state keeps
  // its hash alone.
  if (!list.buyerIdNumber.empty()) {
    absl::Status id = ValidateIdentityNumber(list.buyerIdNumber,
                                             absl::CivilDay(list.appTime));
    if (!id.ok()) entry.id_problem = std::string(id.message());
  }
  // A new version re-arms the timeout from its own appTime.
  ctx.SetTimer(t + config_.import_timeout, key);
  TryComplete(g, key, ctx);
  return std::nullopt;
}

void Clearance::TryComplete(OrderGroup& g, const ListKey& key,
                            StageContext& ctx) {
  auto it = g.lists.find({key.type, key.ebpCode});
  if (it == g.lists.end() || it->second.settled() ||
      !it->second.version.present()) {
    return;
  }
  const Version* order = Present(g, DocType::kCeb311, key.ebpCode);
  const Version* payment = Present(g, DocType::kCeb411, key.ebpCode);
  if (!order || !payment) return;
  if (!DecodeDocument(it->second.version.encoded, &list_doc_).ok()) return;
  const auto& list = std::get<Ceb621List>(list_doc_);
  auto w = g.waybills.find(
      {std::string(list.logisticsCode), std::string(list.logisticsNo)});
  if (w == g.waybills.end() || !w->second.present()) return;
  const int64_t completed_at =
      std::max({it->second.version.appTime, order->appTime, payment->appTime,
                w->second.appTime});
  ctx.CancelTimer(it->second.version.appTime + config_.import_timeout, key);
  Decide(g, key, /*timed_out=*/false, completed_at, ctx,
         /*list_decoded=*/true);
}

AllowanceRequest Clearance::RequestFor(const ListKey& key,
                                       const Ceb621List& list, ListTax* tax,
                                       ReasonList* reasons) const {
  AllowanceRequest q;
  q.list = key;
  // Stored documents hold the keyed hashes: the identity number is the
  // buyer's key.
  q.buyer = std::string(list.buyerIdNumber);
  q.name_hash = std::string(list.buyerName);
  q.year = absl::CivilYear(list.appTime).year();
  std::vector<TaxLine> lines;
  for (const auto& l : list.items) lines.push_back({l.gcode, *l.totalPrice});
  const bool single_item =
      list.items.size() == 1 && *list.items[0].qty == Decimal::FromInteger(1);
  *tax = ComputeTax(lines, *list.freight, *list.insuredFee,
                    /*full=*/false, *config_.tax_rates);
  q.value = tax->amounts.dutiableValue;
  if (q.value > kSingleLimit) {
    if (!single_item) {
      reasons->Add(
          ReasonCode::kSingleLimitExceeded,
          absl::StrFormat("dutiable value %s is over %s and the "
                          "list is not a single item",
                          q.value.ToFixed2(), kSingleLimit.ToFixed2()));
      q.may_release = false;
    } else {
      // 财关税〔2018〕49号 clause 2: a single item over the limit is taxed
      // in full.
      *tax = ComputeTax(lines, *list.freight, *list.insuredFee,
                        /*full=*/true, *config_.tax_rates);
    }
  }
  return q;
}

void Clearance::Release(const Ceb621List& list, const AllowanceRequest& request,
                        const ListTax& tax, const AllowanceAnswer& answer,
                        Decision* decision, Receipt* r) const {
  decision->buyer = request.buyer;
  decision->year = request.year;
  for (size_t i = 0; i < list.items.size(); ++i) {
    decision->lines.push_back({list.items[i].gnum.value_or(0),
                               *list.items[i].qty, tax.line_value[i]});
  }
  r->tax = tax.amounts;
  r->annualTotal = answer.total;
  r->returnInfo = absl::StrFormat(
      "released: dutiable value %s, tax %s, buyer's %d total %s",
      request.value.ToFixed2(), tax.amounts.taxTotal.ToFixed2(), request.year,
      answer.total.ToFixed2());
}

void Clearance::Decide(OrderGroup& g, const ListKey& key, bool timed_out,
                       int64_t decided_at, StageContext& ctx,
                       bool list_decoded) {
  ListEntry& entry = g.lists[{key.type, key.ebpCode}];
  if (!list_decoded &&
      !DecodeDocument(entry.version.encoded, &list_doc_).ok()) {
    return;
  }
  const auto& list = std::get<Ceb621List>(list_doc_);
  ImportBundle b;
  b.list = &list;
  b.timed_out = timed_out;
  if (const Version* v = Present(g, DocType::kCeb311, key.ebpCode);
      v && DecodeDocument(v->encoded, &order_doc_).ok()) {
    b.order = &std::get<Ceb311Order>(order_doc_);
  }
  if (const Version* v = Present(g, DocType::kCeb411, key.ebpCode);
      v && DecodeDocument(v->encoded, &payment_doc_).ok()) {
    b.payment = &std::get<Ceb411Payment>(payment_doc_);
  }
  auto w = g.waybills.find(
      {std::string(list.logisticsCode), std::string(list.logisticsNo)});
  if (w != g.waybills.end() && w->second.present() &&
      DecodeDocument(w->second.encoded, &waybill_doc_).ok()) {
    b.waybill = &std::get<Ceb511Waybill>(waybill_doc_);
  }
  b.other_waybills =
      !b.waybill &&
      std::any_of(g.waybills.begin(), g.waybills.end(),
                  [](const auto& e) { return e.second.present(); });
  b.id_problem = entry.id_problem;

  ReasonList reasons;
  CheckImportList(b, &reasons);
  if (!reasons.empty()) {
    Finish(g, key, decided_at, reasons, nullptr, nullptr, nullptr, ctx);
    return;
  }
  // Stage B: only a list that passed every check above (contract §5).
  ListTax tax;
  const AllowanceRequest request = RequestFor(key, list, &tax, &reasons);
  const std::optional<AllowanceAnswer> answer = ctx.AskAllowance(request);
  if (!answer) {
    // Decided but for the answer: no timer, later versions refused.
    entry.pending.emplace().decided_at = decided_at;
    return;
  }
  reasons.AddAll(answer->reasons);
  Finish(g, key, decided_at, reasons, &request, &tax, &*answer, ctx);
}

bool Clearance::OnAllowanceAnswer(const AllowanceAnswer& answer,
                                  StageContext& ctx) {
  const ListKey& key = answer.list;
  OrderGroup& g = ctx.Group(key.orderNo);
  auto it = g.lists.find({key.type, key.ebpCode});
  if (it == g.lists.end() || !it->second.pending ||
      !DecodeDocument(it->second.version.encoded, &list_doc_).ok()) {
    return false;  // a copy of an answer already applied
  }
  PendingAnswer pending = std::move(*it->second.pending);
  it->second.pending.reset();
  // What stage A found when it asked, a function of the list alone.
  ReasonList reasons;
  ListTax tax;
  const AllowanceRequest request =
      RequestFor(key, std::get<Ceb621List>(list_doc_), &tax, &reasons);
  reasons.AddAll(answer.reasons);
  Finish(g, key, pending.decided_at, reasons, &request, &tax, &answer, ctx);
  // The cancels and returns that came meanwhile, as they came.
  Document doc;
  for (const std::string& form : pending.deferred) {
    if (DecodeDocument(form, &doc).ok()) AnswerCancelOrReturn(doc, g, ctx);
  }
  return true;
}

void Clearance::Finish(OrderGroup& g, const ListKey& key, int64_t decided_at,
                       const ReasonList& reasons,
                       const AllowanceRequest* request, const ListTax* tax,
                       const AllowanceAnswer* answer, StageContext& ctx) {
  ListEntry& entry = g.lists[{key.type, key.ebpCode}];
  const auto& list = std::get<Ceb621List>(list_doc_);
  Decision decision;
  EchoList(list, &decision);
  decision.decided_at = decided_at;
  Receipt r;
  r.docType = std::string(ReceiptType(key.type));
  EchoInto(decision, &r);
  r.returnTime = FromEpochSeconds(decided_at);
  if (answer && answer->released) {
    decision.status = "800";
    Release(list, *request, *tax, *answer, &decision, &r);
  } else {
    decision.status = "100";
    // A later return is still checked against the list's lines (contract
    // §10 "Returns").
    for (const auto& item : list.items) {
      if (item.gnum && item.qty) {
        decision.lines.push_back({*item.gnum, *item.qty, Decimal()});
      }
    }
    r.reasons = reasons.Sorted();
    r.returnInfo = ReasonList::Info(r.reasons);
  }
  r.returnStatus = decision.status;
  r.guid = GuidFor(key.type, key.ebpCode, key.orderNo, entry.version.appTime,
                   r.returnStatus);
  ctx.EmitReceipt(r);
  entry.decision = std::move(decision);
  // Decided: the documents' content is no longer needed, only their
  // appTimes against later versions.
  entry.version.encoded.clear();
  for (DocType t : {DocType::kCeb311, DocType::kCeb411}) {
    auto d = g.docs.find({t, key.ebpCode});
    if (d != g.docs.end()) d->second.encoded.clear();
  }
}

void Clearance::OnCancelOrReturn(const Document& doc, std::string state_form,
                                 StageContext& ctx) {
  const CancelOrReturn c(doc);
  OrderGroup& g = ctx.Group(c.orderNo);
  auto [held_it, fresh] = g.docs.try_emplace({c.type, c.ebpCode});
  Version& held = held_it->second;
  if (!fresh && c.t <= held.appTime) return;  // stale or duplicate
  held.appTime = c.t;
  held.deleted = c.head.appType == AppType::kDelete;
  if (held.deleted) return;  // deleting a cancel or return does nothing
  auto it = g.lists.find({DocType::kCeb621, c.ebpCode});
  if (it != g.lists.end() && it->second.pending) {
    // Answered once the list's decision is whole, as it would have been
    // had the buyer's answer come at once.
    it->second.pending->deferred.push_back(std::move(state_form));
    return;
  }
  AnswerCancelOrReturn(doc, g, ctx);
}

void Clearance::AnswerCancelOrReturn(const Document& doc, OrderGroup& g,
                                     StageContext& ctx) {
  const CancelOrReturn c(doc);
  Receipt r;
  r.docType = std::string(ReceiptType(c.type));
  r.returnTime = FromEpochSeconds(c.t);
  ReasonList reasons;
  auto it = g.lists.find({DocType::kCeb621, c.ebpCode});
  Decision* decision = nullptr;
  // The list's lines a return is checked against (gnum, qty), when known:
  // the decided list's, or the waiting list's.
  std::vector<ReleasedLine> waiting_lines;
  const std::vector<ReleasedLine>* list_lines = nullptr;
  if (it != g.lists.end() && it->second.decision) {
    decision = &*it->second.decision;
    EchoInto(*decision, &r);
    r.first_decided = FromEpochSeconds(decision->decided_at);
    // A rejection without lines kept none to check against.
    if (decision->status == "800" || !decision->lines.empty()) {
      list_lines = &decision->lines;
    }
  } else if (it != g.lists.end() && it->second.version.present() &&
             DecodeDocument(it->second.version.encoded, &list_doc_).ok()) {
    const auto& list = std::get<Ceb621List>(list_doc_);
    Decision echo;
    EchoList(list, &echo);
    EchoInto(echo, &r);
    for (const auto& item : list.items) {
      if (item.gnum && item.qty) {
        waiting_lines.push_back({*item.gnum, *item.qty, Decimal()});
      }
    }
    list_lines = &waiting_lines;
  } else {
    // A list never seen: echo the cancel or return itself, no tradeMode.
    std::visit(
        [&](const auto& d) {
          using T = std::decay_t<decltype(d)>;
          if constexpr (std::is_same_v<T, Ceb623Cancel> ||
                        std::is_same_v<T, Ceb625Return>) {
            Decision echo;
            echo.orderNo = std::string(d.orderNo);
            echo.ebpCode = std::string(d.ebpCode);
            echo.ebcCode = std::string(d.ebcCode);
            echo.copNo = std::string(d.copNo);
            echo.preNo = std::string(d.preNo);
            echo.invtNo = std::string(d.invtNo);
            echo.agentCode = std::string(d.agentCode);
            echo.customsCode = std::string(d.customsCode);
            EchoInto(echo, &r);
          }
        },
        doc);
  }
  const bool released =
      decision && decision->status == "800" && !decision->withdrawn;

  // Lines of a return: gnum and qty each, no more than the list's qty.
  std::map<int64_t, Decimal> returned;
  if (c.is_return) {
    for (size_t i = 0; i < c.ret->items.size(); ++i) {
      const auto& l = c.ret->items[i];
      if (!l.gnum || !l.qty) {
        reasons.Add(ReasonCode::kFieldInvalid,
                    absl::StrFormat("CEB625 items[%d].%s absent", i,
                                    !l.gnum ? "gnum" : "qty"));
        continue;
      }
      returned[*l.gnum] += *l.qty;
    }
    if (list_lines) {
      for (const auto& [gnum, qty] : returned) {
        const int64_t wanted = gnum;  // clang 14 cannot capture a binding
        auto line = std::find_if(
            list_lines->begin(), list_lines->end(),
            [&](const ReleasedLine& rl) { return rl.gnum == wanted; });
        if (line == list_lines->end()) {
          reasons.Add(
              ReasonCode::kFieldInvalid,
              absl::StrFormat("CEB625 gnum %d is not on the list", gnum));
        } else if (qty > line->qty) {
          reasons.Add(ReasonCode::kFieldInvalid,
                      absl::StrFormat("CEB625 gnum %d returns %s of %s", gnum,
                                      qty.ToPlain(), line->qty.ToPlain()));
        }
      }
    }
  }
  if (!released) {
    reasons.Add(ReasonCode::kNotReleased,
                it == g.lists.end() ? "no CEB621 for this ebpCode and orderNo"
                : !decision         ? "the list is not decided"
                : decision->status != "800"
                    ? "the list was rejected"
                    : "the list was already cancelled or returned");
  } else if (c.is_return &&
             c.t - decision->decided_at > config_.return_window) {
    reasons.Add(
        ReasonCode::kReturnWindowExpired,
        absl::StrFormat("released %s, more than %d days before",
                        FormatTime14(FromEpochSeconds(decision->decided_at)),
                        config_.return_window / (24 * 3600)));
  }

  if (reasons.empty()) {
    // Accepted: the list's value, or the returned part, leaves the
    // buyer's year (stage B; 海关总署公告2020年第45号).
    Decimal back;
    if (!c.is_return || returned.empty()) {
      for (const ReleasedLine& l : decision->lines) back += l.value;
    } else {
      for (const auto& [gnum, qty] : returned) {
        for (const ReleasedLine& l : decision->lines) {
          if (l.gnum != gnum) continue;
          if (qty == l.qty) {
            back += l.value;
          } else {
            // v x returned / qty, rounded half-up to the fen.
            back += Decimal::MulDivRoundToFen(l.value.units(), qty.units(),
                                              l.qty.units());
          }
        }
      }
    }
    ctx.SendGiveBack({DocType::kCeb621, c.ebpCode, c.orderNo},
                     {decision->buyer, decision->year, back});
    decision->withdrawn = true;
    r.returnStatus = "399";
    r.returnInfo = absl::StrFormat(
        "%s accepted: %s given back to the buyer's "
        "%d total",
        c.is_return ? "return" : "cancel", back.ToFixed2(), decision->year);
  } else {
    r.returnStatus = "100";
    r.reasons = reasons.Sorted();
    r.returnInfo = ReasonList::Info(r.reasons);
  }
  r.guid = GuidFor(c.type, c.ebpCode, c.orderNo, c.t, r.returnStatus);
  ctx.EmitReceipt(r);
}

}  // namespace clearlane
