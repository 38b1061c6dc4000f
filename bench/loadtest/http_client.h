// A plain HTTP GET on loopback, through civetweb's client: how the Kafka
// load test reads the metrics of the `clearlane run` it started, and how
// tests read /metrics, /healthz and /readyz.
//
// Thread-safety: HttpGet may be called from any thread.

#ifndef CLEARLANE_BENCH_LOADTEST_HTTP_CLIENT_H_
#define CLEARLANE_BENCH_LOADTEST_HTTP_CLIENT_H_

#include <string>

namespace clearlane {

struct HttpResponse {
  int status = 0;  // 0: nothing answered
  std::string body;
};

// GET http://127.0.0.1:`port``path`.
HttpResponse HttpGet(int port, const std::string& path);

// A port nobody listens on right now (the kernel's choice).
int FreePort();

}  // namespace clearlane

#endif  // CLEARLANE_BENCH_LOADTEST_HTTP_CLIENT_H_
