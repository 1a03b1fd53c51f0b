// dpdk_pcap_corpus CORPUS_DIR WORK_DIR: the DPDK backend filtering a replay
// of real captures delivers exactly what tcpdump selects from the same file.
//
// Every untruncated Ethernet frame of the tcpdump source's test captures
// goes into one microsecond pcap (net_pcap replays a file as a wire where
// each frame is as long as it was captured, so truncated frames, whose wire
// length the replay cannot carry, are left out). For each expression, the
// frames and bytes read from dpdk:net_pcapN,rx_pcap=merged.pcap with that
// filter must equal `tcpdump -r merged.pcap -w - EXPR`, cut to the snap
// length the device was opened with (the filter's return value, as in the
// kernel), with the same timestamps.
#include <dirent.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <tap/tap.hpp>

namespace {

struct Frame {
	std::vector<std::byte> bytes;
	std::int64_t ts_us;
};

void collect(const std::string &dir, std::vector<Frame> &out, int &files)
{
	DIR *d = opendir(dir.c_str());
	if (!d)
		return;
	std::vector<std::string> names;
	while (const dirent *e = readdir(d)) {
		const std::string n = e->d_name;
		if (n.ends_with(".pcap") || n.ends_with(".pcapng"))
			names.push_back(n);
	}
	closedir(d);
	std::sort(names.begin(), names.end());
	for (const auto &n : names) {
		char err[PCAP_ERRBUF_SIZE];
		pcap_t *p = pcap_open_offline((dir + "/" + n).c_str(), err);
		if (!p)
			continue;
		if (pcap_datalink(p) == DLT_EN10MB) {
			++files;
			pcap_pkthdr *h;
			const u_char *data;
			while (pcap_next_ex(p, &h, &data) == 1)
				if (h->caplen == h->len && h->caplen >= 14 && h->caplen <= 9000)
					out.push_back({{reinterpret_cast<const std::byte *>(data),
							reinterpret_cast<const std::byte *>(data) + h->caplen},
						       std::int64_t{h->ts.tv_sec} * 1'000'000 + h->ts.tv_usec});
		}
		pcap_close(p);
	}
}

std::vector<Frame> tcpdump_selects(const std::string &file, const std::string &expr)
{
	std::vector<Frame> out;
	const std::string cmd = "tcpdump -r '" + file + "' -w - '" + expr + "' 2>/dev/null";
	FILE *pipe = popen(cmd.c_str(), "r");
	if (!pipe)
		return out;
	char err[PCAP_ERRBUF_SIZE];
	if (pcap_t *p = pcap_fopen_offline(pipe, err)) {
		pcap_pkthdr *h;
		const u_char *data;
		while (pcap_next_ex(p, &h, &data) == 1)
			out.push_back({{reinterpret_cast<const std::byte *>(data),
					reinterpret_cast<const std::byte *>(data) + h->caplen},
				       std::int64_t{h->ts.tv_sec} * 1'000'000 + h->ts.tv_usec});
		pcap_close(p); // closes the pipe's FILE
	} else {
		pclose(pipe);
	}
	return out;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc != 3) {
		std::fprintf(stderr, "usage: dpdk_pcap_corpus CORPUS_DIR WORK_DIR\n");
		return 2;
	}
	const std::string corpus = argv[1], work = argv[2];
	std::vector<Frame> frames;
	int files = 0;
	collect(corpus, frames, files);
	if (frames.size() < 1000) {
		std::printf("not ok - only %zu frames from %d Ethernet captures in %s\n", frames.size(), files,
			    corpus.c_str());
		return 1;
	}
	[[maybe_unused]] int rc = std::system(("mkdir -p '" + work + "'").c_str());
	const std::string merged = work + "/merged.pcap";
	{
		pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
		pcap_dumper_t *d = pcap_dump_open(dead, merged.c_str());
		if (!d) {
			std::printf("not ok - %s: %s\n", merged.c_str(), pcap_geterr(dead));
			return 1;
		}
		for (const auto &f : frames) {
			pcap_pkthdr h{};
			h.ts.tv_sec = f.ts_us / 1'000'000;
			h.ts.tv_usec = f.ts_us % 1'000'000;
			h.caplen = h.len = static_cast<bpf_u_int32>(f.bytes.size());
			pcap_dump(reinterpret_cast<u_char *>(d), &h, reinterpret_cast<const u_char *>(f.bytes.data()));
		}
		pcap_dump_close(d);
		pcap_close(dead);
	}
	std::printf("# %zu untruncated frames from %d Ethernet captures\n", frames.size(), files);

	const char *expressions[] = {
		"tcp port 80", "udp", "icmp or icmp6", "arp", "ip6", "tcp[tcpflags] & tcp-syn != 0",
		"vlan", "ip[6:2] & 0x1fff = 0", "udp port 53", "not ip", "ether broadcast or ether multicast",
		"tcp[12] >> 4 = 5", "ip and len > 200", "greater 1000", "ip host 10.0.0.1 or net 192.168.0.0/16",
	};
	int failures = 0, index = 0;
	for (const char *expr : expressions) {
		const std::uint32_t snap = index % 2 ? 96 : tap::Options::max_snap_length;
		tap::Options o;
		o.filter = expr;
		o.snap_length = snap;
		o.immediate = true;
		const std::string spec = "dpdk:net_pcap" + std::to_string(index++) + ",rx_pcap=" + merged;
		auto dev = tap::Device::open(spec, o);
		if (!dev) {
			std::printf("not ok - %s: %s\n", expr, dev.error().message().c_str());
			++failures;
			continue;
		}
		std::vector<Frame> got;
		std::size_t bytes = 0;
		bool wire_ok = true;
		for (;;) {
			auto b = dev->read(std::chrono::milliseconds(300)); // the file's end: nothing more comes
			if (!b || b->empty())
				break;
			for (auto p : *b) {
				got.push_back({{p.bytes().begin(), p.bytes().end()},
					       std::chrono::duration_cast<std::chrono::microseconds>(
						       p.timestamp().time_since_epoch())
						       .count()});
				bytes += p.captured_length();
				wire_ok = wire_ok && p.wire_length() >= p.captured_length();
			}
		}
		const auto want = tcpdump_selects(merged, expr);
		std::size_t want_bytes = 0, mismatch = want.size();
		for (std::size_t i = 0; i < want.size(); ++i) {
			const std::size_t keep = std::min<std::size_t>(want[i].bytes.size(), snap);
			want_bytes += keep;
			if (mismatch == want.size() &&
			    (i >= got.size() || got[i].ts_us != want[i].ts_us || got[i].bytes.size() != keep ||
			     !std::equal(got[i].bytes.begin(), got[i].bytes.end(), want[i].bytes.begin())))
				mismatch = i;
		}
		auto st = dev->stats();
		const bool stats_ok = st && st->received == frames.size() && st->accepted == got.size() &&
				      st->dropped == 0;
		const bool ok = got.size() == want.size() && bytes == want_bytes && mismatch == want.size() &&
				wire_ok && stats_ok && !want.empty();
		std::printf("%s - \"%s\" snap %u: %zu frames %zu bytes, tcpdump %zu frames %zu bytes%s\n",
			    ok ? "ok" : "not ok", expr, snap, got.size(), bytes, want.size(), want_bytes,
			    stats_ok ? "" : " (stats disagree)");
		if (!ok) {
			if (mismatch < want.size())
				std::printf("#   first difference at frame %zu\n", mismatch);
			++failures;
		}
	}
	return failures ? 1 : 0;
}
