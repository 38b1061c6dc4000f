// Decode throughput per document type, beside simdjson's own On-Demand
// parse of the same bytes touching every value, so the ratio shows what
// clearlane's decoding (field lookup, exact decimals, times, validation)
// costs on top of the parser; and the same documents as CEB XML messages
// (one record a message, and 50): parsed alone by pugixml (and, where
// they are installed, by libxml2's SAX2 and by Expat, for comparison), read
// (XmlReader::Read), and read and decoded (contract §11).
//
//   build/bench/decode_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdio>
#include <map>
#include <pugixml.hpp>
#ifdef CLEARLANE_WITH_LIBXML2
#include <libxml/parser.h>
#endif
#ifdef CLEARLANE_WITH_EXPAT
#include <expat.h>
#endif
#include <sstream>
#include <string>
#include <vector>

#include "bench/generator.h"
#include "model/decode.h"
#include "model/xml_message.h"

namespace clearlane {
namespace {

namespace od = simdjson::ondemand;

// One corpus per docType, from a clean generated day.
const std::map<std::string, std::vector<std::string>>& Corpus() {
  static const auto* corpus = [] {
    GeneratorOptions o;
    o.orders = 4000;
    o.seed = 2026;
    o.flow = Flow::kMixed;
    o.export_share = 0.5;
    char* data = nullptr;
    size_t size = 0;
    std::FILE* f = open_memstream(&data, &size);
    if (!Generate(o, f, nullptr, nullptr, nullptr).ok()) std::abort();
    std::fclose(f);
    auto* m = new std::map<std::string, std::vector<std::string>>;
    std::istringstream in(std::string(data, size));
    free(data);
    for (std::string line; std::getline(in, line);) {
      const size_t at = line.find("\"docType\":\"") + 11;
      (*m)[line.substr(at, 6)].push_back(line);
      (*m)["all"].push_back(line);
    }
    return m;
  }();
  return *corpus;
}

// simdjson's parse, visiting every value as a decoder must: strings are
// unescaped, numbers are read, every key is unescaped.
bool Touch(od::value v, size_t* sink) {
  od::json_type t;
  if (v.type().get(t)) return false;
  switch (t) {
    case od::json_type::object:
      for (auto field : v.get_object()) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return false;
        *sink += key.size();
        if (!Touch(field.value(), sink)) return false;
      }
      return true;
    case od::json_type::array:
      for (auto element : v.get_array()) {
        if (!Touch(element.value(), sink)) return false;
      }
      return true;
    case od::json_type::string: {
      std::string_view s;
      if (v.get_string().get(s)) return false;
      *sink += s.size();
      return true;
    }
    case od::json_type::number: {
      double d;
      if (v.get_double().get(d)) return false;
      *sink += static_cast<size_t>(d) & 1;
      return true;
    }
    case od::json_type::boolean: {
      bool b;
      return !v.get_bool().get(b);
    }
    case od::json_type::null:
      return !v.is_null().error();
  }
  return false;
}

// The same padded copy the decoder makes, so both sides pay it.
void BM_SimdjsonTouchEveryValue(benchmark::State& state,
                                const std::string& type) {
  const auto& lines = Corpus().at(type);
  od::parser parser;
  std::string buffer;
  size_t sink = 0, bytes = 0, docs = 0;
  for (auto _ : state) {
    for (const std::string& line : lines) {
      buffer.assign(line);
      buffer.resize(line.size() + simdjson::SIMDJSON_PADDING);
      od::document doc;
      if (parser.iterate(buffer.data(), line.size(), buffer.size()).get(doc)) {
        state.SkipWithError("parse");
        return;
      }
      od::value root;
      if (doc.get_value().get(root) || !Touch(root, &sink)) {
        state.SkipWithError("touch");
        return;
      }
      bytes += line.size();
    }
    docs += lines.size();
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(docs);
  state.SetBytesProcessed(bytes);
}

void BM_ClearlaneDecode(benchmark::State& state, const std::string& type) {
  const auto& lines = Corpus().at(type);
  Decoder decoder;
  Document doc;
  size_t bytes = 0, docs = 0;
  for (auto _ : state) {
    for (const std::string& line : lines) {
      if (!decoder.Decode(line, &doc).ok()) {
        state.SkipWithError("decode");
        return;
      }
      bytes += line.size();
    }
    docs += lines.size();
  }
  state.SetItemsProcessed(docs);
  state.SetBytesProcessed(bytes);
}

// The corpus of `type` as CEB XML messages of `per_message` records (the
// "all" corpus by runs of one type).
const std::vector<std::string>& XmlCorpus(const std::string& type,
                                          size_t per_message) {
  static auto* cache = new std::map<std::string, std::vector<std::string>>;
  const std::string key = type + "/" + std::to_string(per_message);
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  std::vector<std::string>& out = (*cache)[key];
  const auto& lines = Corpus().at(type);
  std::vector<std::string> batch;
  std::string batch_type;
  auto flush = [&] {
    if (batch.empty()) return;
    std::string xml;
    if (!WriteXmlMessage(batch_type, batch, &xml).ok()) std::abort();
    out.push_back(std::move(xml));
    batch.clear();
  };
  for (const std::string& line : lines) {
    const std::string t = line.substr(line.find("\"docType\":\"") + 11, 6);
    if (t != batch_type || batch.size() == per_message) flush();
    batch_type = t;
    batch.push_back(line);
  }
  flush();
  return out;
}

// Runs `read` (false: an error) over the messages of `type` of
// `per_message` records, counting the corpus's documents and bytes.
template <class Read>
void OverXml(benchmark::State& state, const std::string& type,
             size_t per_message, Read&& read) {
  const auto& messages = XmlCorpus(type, per_message);
  size_t bytes = 0, docs = 0;
  for (auto _ : state) {
    for (const std::string& xml : messages) {
      if (!read(xml)) {
        state.SkipWithError("read");
        return;
      }
      bytes += xml.size();
    }
    docs += Corpus().at(type).size();
  }
  state.SetItemsProcessed(docs);
  state.SetBytesProcessed(bytes);
}

// pugixml's in-place parse of the same messages, on a copy and with the
// options XmlReader uses, walking nothing: the floor under its reading.
void BM_PugixmlParse(benchmark::State& state, const std::string& type,
                     size_t per_message) {
  pugi::xml_document doc;
  std::string buffer;
  OverXml(state, type, per_message, [&](const std::string& xml) {
    buffer.assign(xml);
    return static_cast<bool>(doc.load_buffer_inplace(
        buffer.data(), buffer.size(),
        pugi::parse_default | pugi::parse_declaration |
            pugi::parse_ws_pcdata_single | pugi::parse_embed_pcdata,
        pugi::encoding_utf8));
  });
}

#ifdef CLEARLANE_WITH_LIBXML2
// libxml2's SAX2 parse of the same messages (namespaces resolved, UTF-8
// checked), with handlers that only count: the floor under a reader built
// on libxml2 instead of pugixml.
void BM_Libxml2SaxParse(benchmark::State& state, const std::string& type,
                        size_t per_message) {
  xmlSAXHandler sax{};
  sax.initialized = XML_SAX2_MAGIC;
  sax.startElementNs = [](void* ctx, const xmlChar*, const xmlChar*,
                          const xmlChar*, int, const xmlChar**, int, int,
                          const xmlChar**) { ++*static_cast<size_t*>(ctx); };
  sax.characters = [](void* ctx, const xmlChar*, int len) {
    *static_cast<size_t*>(ctx) += static_cast<size_t>(len);
  };
  size_t sink = 0;
  OverXml(state, type, per_message, [&](const std::string& xml) {
    return xmlSAXUserParseMemory(&sax, &sink, xml.data(),
                                 static_cast<int>(xml.size())) == 0;
  });
  benchmark::DoNotOptimize(sink);
}
#endif

#ifdef CLEARLANE_WITH_EXPAT
// Expat's parse of the same messages (namespaces resolved), with handlers
// that only count.
void BM_ExpatParse(benchmark::State& state, const std::string& type,
                   size_t per_message) {
  XML_Parser parser = XML_ParserCreateNS("UTF-8", '|');
  size_t sink = 0;
  OverXml(state, type, per_message, [&](const std::string& xml) {
    XML_ParserReset(parser, "UTF-8");
    XML_SetUserData(parser, &sink);
    XML_SetElementHandler(
        parser,
        [](void* ctx, const XML_Char*, const XML_Char**) {
          ++*static_cast<size_t*>(ctx);
        },
        [](void*, const XML_Char*) {});
    XML_SetCharacterDataHandler(
        parser, [](void* ctx, const XML_Char*, int len) {
          *static_cast<size_t*>(ctx) += static_cast<size_t>(len);
        });
    return XML_Parse(parser, xml.data(), static_cast<int>(xml.size()), 1) ==
           XML_STATUS_OK;
  });
  XML_ParserFree(parser);
  benchmark::DoNotOptimize(sink);
}
#endif

// XmlReader::Read alone: the parse and the walk that finds each record's
// fields, without judging them.
void BM_ClearlaneReadXml(benchmark::State& state, const std::string& type,
                         size_t per_message) {
  XmlReader reader;
  XmlMessage message;
  OverXml(state, type, per_message, [&](const std::string& xml) {
    return reader.Read(xml, &message).ok();
  });
}

void BM_ClearlaneDecodeXml(benchmark::State& state, const std::string& type,
                           size_t per_message) {
  XmlReader reader;
  XmlMessage message;
  Decoder decoder;
  Document doc;
  OverXml(state, type, per_message, [&](const std::string& xml) {
    if (!reader.Read(xml, &message).ok()) return false;
    for (const XmlRecord& r : message.records) {
      if (!decoder.DecodeFields(message.type, r.fields, &doc).ok()) {
        return false;
      }
    }
    return true;
  });
}

using XmlBenchmark = void (*)(benchmark::State&, const std::string&, size_t);
constexpr std::pair<const char*, XmlBenchmark> kXmlBenchmarks[] = {
    {"PugixmlParse", &BM_PugixmlParse},
#ifdef CLEARLANE_WITH_LIBXML2
    {"Libxml2SaxParse", &BM_Libxml2SaxParse},
#endif
#ifdef CLEARLANE_WITH_EXPAT
    {"ExpatParse", &BM_ExpatParse},
#endif
    {"ClearlaneReadXml", &BM_ClearlaneReadXml},
    {"ClearlaneDecodeXml", &BM_ClearlaneDecodeXml},
};

int Register() {
  for (const char* type :
       {"all", "CEB311", "CEB411", "CEB511", "CEB621", "CEB303", "CEB403",
        "CEB505", "CEB507", "CEB509", "CEB603"}) {
    benchmark::RegisterBenchmark((std::string("SimdjsonTouch/") + type).c_str(),
                                 [t = std::string(type)](benchmark::State& s) {
                                   BM_SimdjsonTouchEveryValue(s, t);
                                 });
    benchmark::RegisterBenchmark(
        (std::string("ClearlaneDecode/") + type).c_str(),
        [t = std::string(type)](benchmark::State& s) {
          BM_ClearlaneDecode(s, t);
        });
    for (size_t per_message : {size_t{1}, size_t{50}}) {
      for (const auto& [name, bench] : kXmlBenchmarks) {
        benchmark::RegisterBenchmark(
            (name + std::to_string(per_message) + "/" + type).c_str(),
            [t = std::string(type), per_message,
             bench = bench](benchmark::State& s) { bench(s, t, per_message); });
      }
    }
  }
  return 0;
}
const int kRegistered = Register();

}  // namespace
}  // namespace clearlane

BENCHMARK_MAIN();
