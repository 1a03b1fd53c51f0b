// Differential test: every (expression, packet) pair gives the same snap
// length from libpcap's bpf_filter(), our interpreter and our JIT.
//   diff_libpcap EXPRESSIONS.txt CORPUS_DIR
// CORPUS_DIR is the tcpdump source tree's tests/ (pcap and pcapng files);
// generated DLT_EN10MB frames are always added.
#include "frames.hpp"
#include <tap/cbpf/libpcap_filter.hpp>

#include <tap/cbpf/disassemble.hpp>
#include <tap/cbpf/filter.hpp>

#include <pcap/pcap.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace tap::cbpf;
using testing::Capture;
using testing::Frame;

namespace {

std::vector<std::string> read_expressions(const std::string &path)
{
	std::vector<std::string> out;
	std::ifstream in(path);
	for (std::string line; std::getline(in, line);)
		if (!line.empty() && line[0] != '#')
			out.push_back(line);
	return out;
}

struct Totals {
	std::uint64_t pairs = 0, mismatches = 0, programs = 0, rejected = 0, not_compiled = 0;
	std::uint64_t jit_programs = 0;
	std::size_t expressions_on_ethernet = 0;
};

void dump_program(std::span<const bpf_insn> program)
{
	for (std::size_t i = 0; i < program.size(); ++i)
		std::fprintf(stderr, "    %s\n", disassemble(program[i], i).c_str());
}

void check_group(int linktype, const std::vector<const Frame *> &frames,
		 const std::vector<std::string> &expressions, Totals &t)
{
	pcap_t *dead = pcap_open_dead(linktype, 262144);
	if (dead == nullptr)
		return;
	for (const std::string &expr : expressions) {
		for (int optimize = 1; optimize >= 0; --optimize) {
			bpf_program prog{};
			if (pcap_compile(dead, &prog, expr.c_str(), optimize, PCAP_NETMASK_UNKNOWN) != 0) {
				++t.not_compiled;
				break; // does not apply to this link type
			}
			if (linktype == DLT_EN10MB && optimize == 1)
				++t.expressions_on_ethernet;
			std::span<const bpf_insn> insns(prog.bf_insns, prog.bf_len);
			++t.programs;
			auto interp = Filter::create(insns, Engine::interpreter);
			auto jit = Filter::create(insns, Engine::jit);
			if (!interp || !jit) {
				++t.rejected;
				std::fprintf(stderr, "REJECTED linktype %d, -O%d '%s': %s\n", linktype,
					     optimize, expr.c_str(), interp.error().message().c_str());
				pcap_freecode(&prog);
				continue;
			}
			if (jit->engine() == Engine::jit)
				++t.jit_programs;
			int reported = 0;
			for (const Frame *f : frames) {
				const auto ref = bpf_filter(prog.bf_insns, f->bytes.data(), f->wire_len,
							    static_cast<u_int>(f->bytes.size()));
				const auto a = interp->run(f->bytes, f->wire_len);
				const auto b = jit->run(f->bytes, f->wire_len);
				++t.pairs;
				if (a != ref || b != ref) {
					++t.mismatches;
					if (reported++ < 3) {
						std::fprintf(stderr,
							     "MISMATCH linktype %d -O%d '%s' caplen %zu wire %u: "
							     "libpcap %u interp %u jit %u\n",
							     linktype, optimize, expr.c_str(), f->bytes.size(),
							     f->wire_len, ref, a, b);
						if (reported == 1)
							dump_program(insns);
					}
				}
			}
			pcap_freecode(&prog);
		}
	}
	pcap_close(dead);
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 3) {
		std::fprintf(stderr, "usage: %s EXPRESSIONS.txt CORPUS_DIR\n", argv[0]);
		return 2;
	}
	const auto expressions = read_expressions(argv[1]);

	std::vector<Capture> captures;
	std::size_t files = 0;
	if (fs::is_directory(argv[2])) {
		std::vector<fs::path> paths;
		for (const auto &entry : fs::directory_iterator(argv[2])) {
			const auto ext = entry.path().extension();
			if (ext == ".pcap" || ext == ".pcapng")
				paths.push_back(entry.path());
		}
		std::sort(paths.begin(), paths.end());
		for (const auto &p : paths) {
			Capture c = testing::read_capture(p.string());
			if (!c.frames.empty()) {
				++files;
				captures.push_back(std::move(c));
			}
		}
	}
	if (files == 0) {
		std::fprintf(stderr, "no capture files in %s: the corpus fetch failed\n", argv[2]);
		return 1;
	}
	Capture generated{"generated", DLT_EN10MB, testing::generated_frames()};
	captures.push_back(std::move(generated));

	std::map<int, std::vector<const Frame *>> by_linktype;
	std::size_t real = 0;
	for (const Capture &c : captures) {
		for (const Frame &f : c.frames)
			by_linktype[c.linktype].push_back(&f);
		if (c.name != "generated")
			real += c.frames.size();
	}

	Totals t;
	for (const auto &[linktype, frames] : by_linktype)
		check_group(linktype, frames, expressions, t);

	std::printf("corpus: %zu capture files (%zu packets, %zu link types) + %zu generated frames\n",
		    files, real, by_linktype.size(), captures.back().frames.size());
	std::printf("expressions: %zu listed, %zu compile for Ethernet\n", expressions.size(),
		    t.expressions_on_ethernet);
	std::printf("programs: %llu compiled (-O1 and -O0), %llu rejected by our validator, %llu JIT-compiled\n",
		    (unsigned long long)t.programs, (unsigned long long)t.rejected,
		    (unsigned long long)t.jit_programs);
	std::printf("pairs checked: %llu (each: libpcap, interpreter, JIT), mismatches: %llu\n",
		    (unsigned long long)t.pairs, (unsigned long long)t.mismatches);
	bool ok = t.mismatches == 0 && t.rejected == 0 && t.expressions_on_ethernet >= 200;
	if (JitCode::supported() && t.jit_programs != t.programs - t.rejected)
		ok = false;
	return ok ? 0 : 1;
}
