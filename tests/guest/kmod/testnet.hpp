// Test helpers for guest tests: descriptors, veth pairs, raw frames, records.
#pragma once

#include <net/bpf.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace testnet {

using Bytes = std::vector<uint8_t>;

// Owns one file descriptor.
class Fd {
public:
	Fd() = default;
	explicit Fd(int fd) : fd_(fd) {}
	Fd(Fd &&o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
	Fd &operator=(Fd &&o) noexcept;
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;
	~Fd();
	int get() const { return fd_; }
	explicit operator bool() const { return fd_ >= 0; }
	void reset();

private:
	int fd_ = -1;
};

// Runs a shell command; throws with its text if it fails.
void sh(const std::string &cmd);
// Runs a shell command; returns its exit status.
int sh_status(const std::string &cmd);

// A veth pair in the current namespace, both ends up, removed on destruction.
class Veth {
public:
	explicit Veth(std::string a, std::string b);
	~Veth();
	Veth(const Veth &) = delete;
	Veth &operator=(const Veth &) = delete;
	const std::string &a() const { return a_; }
	const std::string &b() const { return b_; }

private:
	std::string a_, b_;
};

// A raw packet socket bound to one interface (AF_PACKET, ETH_P_ALL).
class PacketSocket {
public:
	explicit PacketSocket(const std::string &ifname);
	void send(std::span<const uint8_t> frame) const;
	// Frames received (both directions) until `quiet` passes with none.
	std::vector<Bytes> drain(std::chrono::milliseconds quiet = std::chrono::milliseconds(300)) const;
	int fd() const { return fd_.get(); }

private:
	Fd fd_;
};

struct Record {
	int64_t sec = 0;
	int64_t frac = 0;	// usec for bpf_hdr, raw bt_frac for bpf_xhdr
	uint32_t caplen = 0;
	uint32_t datalen = 0;
	uint16_t hdrlen = 0;
	Bytes data;
};

// Opens /dev/bpf, sets the buffer size, attaches, sets immediate mode.
Fd open_bpf(const std::string &ifname, unsigned bufsize = 65536, bool immediate = true);
// Walks a buffer returned by read(); fails the test on a malformed record.
std::vector<Record> parse(std::span<const uint8_t> buf, bool xhdr = false);
// Reads from a descriptor until `quiet` passes with no data; needs immediate
// mode or a read timeout. Returns every record.
std::vector<Record> read_all(int fd, std::chrono::milliseconds quiet = std::chrono::milliseconds(300),
			     bool xhdr = false);
unsigned blen(int fd);
// Installs a filter program (BIOCSETF by default); returns 0 or the errno.
int setf(int fd, std::vector<bpf_insn> insns, unsigned long cmd = BIOCSETF);
// BIOCSETIF; returns 0 or the errno.
int setif(int fd, const std::string &ifname);

// An Ethernet frame: dst 02:..:02, src 02:..:01, the given EtherType, total
// length `len` (>= 60), payload stamped with `seq`.
Bytes frame(uint16_t ethertype, size_t len, uint32_t seq);
// The same with an 802.1Q tag (TPID 0x8100) after the MACs.
Bytes vlan_frame(uint16_t vid, uint16_t ethertype, size_t len, uint32_t seq);
// An ARP request (op 1) or reply (op 2) from 02:..:02 / 10.203.0.2 about
// `target` (dotted quad), broadcast for a request.
Bytes arp_frame(uint16_t op, const std::string &target);
// Whether f is an ARP frame with operation op.
bool is_arp(const Bytes &f, uint16_t op);
std::string mac_of(const std::string &ifname);
bool is_promisc(const std::string &ifname);

void settle(std::chrono::milliseconds ms = std::chrono::milliseconds(200));

// Background load for race tests, until stop() or destruction: frames
// (plain and 802.1Q-tagged, `gap` apart) sent out of `from`, and a veth
// pair `flap`/`flap_peer` added and deleted every `period`.
class Turmoil {
public:
	Turmoil(const std::string &from, const std::string &flap, const std::string &flap_peer,
		std::chrono::milliseconds period, std::chrono::microseconds gap = {});
	Turmoil(const Turmoil &) = delete;
	Turmoil &operator=(const Turmoil &) = delete;
	~Turmoil() { stop(); }
	void stop();

private:
	std::atomic<bool> stop_{false};
	std::thread traffic_, flapper_;
};

constexpr uint16_t kTestType = 0x88b5;	// IEEE local experimental EtherType
constexpr uint16_t kOtherType = 0x88b6;

} // namespace testnet
