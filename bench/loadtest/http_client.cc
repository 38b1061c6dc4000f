#include "bench/loadtest/http_client.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace clearlane {

HttpResponse HttpGet(int port, const std::string& path) {
  static const unsigned initialised = mg_init_library(0);
  (void)initialised;
  HttpResponse r;
  char error[256] = "";
  mg_connection* conn =
      mg_download("127.0.0.1", port, 0, error, sizeof error,
                  "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path.c_str());
  if (!conn) return r;
  if (const mg_response_info* info = mg_get_response_info(conn)) {
    r.status = info->status_code;
  }
  char buf[8192];
  for (int n; (n = mg_read(conn, buf, sizeof buf)) > 0;) r.body.append(buf, n);
  mg_close_connection(conn);
  return r;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace clearlane
