// Runs one reconciliation with the reference implementation of Negentropy
// (hoytech/negentropy, cpp/, header-only) so that check-reference.sh can
// compare it with a vector file.  Built by that script against a checkout
// of the reference; not part of libstek's build.
//
// stdin:  client_frame_limit server_frame_limit
//         n_client, then n_client lines "timestamp id_hex"
//         n_server, then n_server lines "timestamp id_hex"
// stdout: "client HEX" / "server HEX" for every message, in order, then
//         "have HEX" / "need HEX" for every id the client reported.
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "negentropy.h"
#include "negentropy/storage/Vector.h"

static std::string from_hex(const std::string &h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return out;
}

static std::string to_hex(const std::string &b) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

static void read_items(negentropy::storage::Vector &v) {
  size_t n;
  std::cin >> n;
  for (size_t i = 0; i < n; i++) {
    uint64_t ts;
    std::string id;
    std::cin >> ts >> id;
    v.insert(ts, from_hex(id));
  }
  v.seal();
}

int main() {
  uint64_t client_limit, server_limit;
  negentropy::storage::Vector client_items, server_items;
  std::cin >> client_limit >> server_limit;
  read_items(client_items);
  read_items(server_items);
  if (!std::cin) return 2;

  negentropy::Negentropy client(client_items, client_limit);
  negentropy::Negentropy server(server_items, server_limit);
  std::vector<std::string> have, need;
  std::optional<std::string> msg = client.initiate();
  while (msg) {
    std::cout << "client " << to_hex(*msg) << "\n";
    std::string reply = server.reconcile(*msg);
    std::cout << "server " << to_hex(reply) << "\n";
    msg = client.reconcile(reply, have, need);
  }
  for (const auto &id : have) std::cout << "have " << to_hex(id) << "\n";
  for (const auto &id : need) std::cout << "need " << to_hex(id) << "\n";
  return 0;
}
