// macOS's batch write (BIOCSBATCHWRITE): bpf_hdr-framed frames in one write().
#include "testnet.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

using namespace testnet;

namespace {

// One record: bpf_hdr (caplen == datalen == frame size), the frame, padding.
void append_record(Bytes &batch, const Bytes &f, unsigned hdrlen = SIZEOF_BPF_HDR(struct bpf_hdr),
		   uint32_t datalen_delta = 0)
{
	const size_t at = batch.size();
	batch.resize(at + BPF_WORDALIGN(hdrlen + f.size()));
	bpf_hdr h{};
	h.bh_caplen = static_cast<uint32_t>(f.size());
	h.bh_datalen = static_cast<uint32_t>(f.size()) + datalen_delta;
	h.bh_hdrlen = static_cast<unsigned short>(hdrlen);
	std::memcpy(batch.data() + at, &h, SIZEOF_BPF_HDR(struct bpf_hdr));
	std::memcpy(batch.data() + at + hdrlen, f.data(), f.size());
}

Fd batch_bpf(const std::string &ifname)
{
	Fd fd = open_bpf(ifname);
	unsigned on = 1;
	EXPECT_EQ(ioctl(fd.get(), BIOCSHDRCMPLT, &on), 0);
	EXPECT_EQ(ioctl(fd.get(), BIOCSBATCHWRITE, &on), 0);
	return fd;
}

std::vector<Bytes> test_frames(const std::vector<Bytes> &got)
{
	std::vector<Bytes> out;
	for (const Bytes &f : got)
		if (f.size() >= 14 && f[12] == (kTestType >> 8) && f[13] == (kTestType & 0xff))
			out.push_back(f);
	return out;
}

} // namespace

TEST(BatchWrite, NeedsHeaderCompleteAndKeepsIt)
{
	Veth v("bb0", "bb1");
	Fd fd = open_bpf(v.a());
	int on = 1, got = 9;
	EXPECT_EQ(ioctl(fd.get(), BIOCGBATCHWRITE, &got), 0);
	EXPECT_EQ(got, 0);
	EXPECT_EQ(ioctl(fd.get(), BIOCSBATCHWRITE, &on), -1);
	EXPECT_EQ(errno, EINVAL) << "xnu: batch mode needs BIOCSHDRCMPLT";
	unsigned u = 1;
	ASSERT_EQ(ioctl(fd.get(), BIOCSHDRCMPLT, &u), 0);
	EXPECT_EQ(ioctl(fd.get(), BIOCSBATCHWRITE, &on), 0);
	EXPECT_EQ(ioctl(fd.get(), BIOCGBATCHWRITE, &got), 0);
	EXPECT_EQ(got, 1);
	u = 0;
	EXPECT_EQ(ioctl(fd.get(), BIOCSHDRCMPLT, &u), -1);
	EXPECT_EQ(errno, EINVAL) << "xnu: header-complete stays on in batch mode";
	on = 0;
	EXPECT_EQ(ioctl(fd.get(), BIOCSBATCHWRITE, &on), 0);
	EXPECT_EQ(ioctl(fd.get(), BIOCSHDRCMPLT, &u), 0);
}

TEST(BatchWrite, EveryFrameOfOneWriteReachesThePeerInOrder)
{
	Veth v("bb0", "bb1");
	PacketSocket peer(v.b());
	Fd fd = batch_bpf(v.a());
	std::vector<Bytes> sent;
	Bytes batch;
	for (uint32_t i = 0; i < 12; i++) {
		// 1020..1023 exercise every padding length (xnu's own test sizes).
		sent.push_back(frame(kTestType, i < 4 ? 1020 + i : 60 + i * 97, i));
		append_record(batch, sent.back(), i % 3 ? SIZEOF_BPF_HDR(struct bpf_hdr) : 32);
	}
	Bytes empty;
	append_record(batch, empty); // length 0: skipped, as on xnu
	ASSERT_EQ(write(fd.get(), batch.data(), batch.size()), ssize_t(batch.size()));
	EXPECT_EQ(test_frames(peer.drain()), sent);
}

TEST(BatchWrite, ACapturedBufferReplaysAsOneWrite)
{
	Veth v("bb0", "bb1");
	PacketSocket sender(v.b()), peer(v.b());
	Fd cap = open_bpf(v.a());
	unsigned in = BPF_D_IN;
	ASSERT_EQ(ioctl(cap.get(), BIOCSDIRECTION, &in), 0);
	unsigned zero = 0;
	ASSERT_EQ(ioctl(cap.get(), BIOCIMMEDIATE, &zero), 0);
	std::vector<Bytes> sent;
	for (uint32_t i = 0; i < 5; i++) {
		sent.push_back(frame(kTestType, 100 + i * 50, i));
		sender.send(sent.back());
	}
	settle();
	Bytes buf(blen(cap.get()));
	int nonblock = 1;
	ASSERT_EQ(ioctl(cap.get(), FIONBIO, &nonblock), 0);
	ssize_t n = read(cap.get(), buf.data(), buf.size());
	ASSERT_GT(n, 0);
	peer.drain(std::chrono::milliseconds(100));
	Fd out = batch_bpf(v.a());
	ASSERT_EQ(write(out.get(), buf.data(), size_t(n)), n) << "read()'s layout is the batch layout";
	EXPECT_EQ(test_frames(peer.drain()), sent);
}

TEST(BatchWrite, MalformedHeadersSendNothing)
{
	Veth v("bb0", "bb1");
	PacketSocket peer(v.b());
	Fd fd = batch_bpf(v.a());
	const Bytes f = frame(kTestType, 100, 1);
	struct Case {
		const char *what;
		unsigned hdrlen;
		uint32_t delta;
	} cases[] = {
		{"caplen != datalen", SIZEOF_BPF_HDR(struct bpf_hdr), 1},
		{"header shorter than bpf_hdr", SIZEOF_BPF_HDR(struct bpf_hdr) - 1, 0},
	};
	for (const Case &c : cases) {
		Bytes batch;
		append_record(batch, f);
		append_record(batch, f, c.hdrlen, c.delta);
		EXPECT_EQ(write(fd.get(), batch.data(), batch.size()), -1) << c.what;
		EXPECT_EQ(errno, EINVAL) << c.what;
	}
	Bytes batch;
	append_record(batch, f);
	Bytes cut = batch;
	cut.resize(SIZEOF_BPF_HDR(struct bpf_hdr) + 50); // frame runs past the end
	EXPECT_EQ(write(fd.get(), cut.data(), cut.size()), -1);
	EXPECT_EQ(errno, EINVAL);
	EXPECT_TRUE(test_frames(peer.drain()).empty()) << "nothing of a malformed batch is sent";
}

TEST(BatchWrite, AFailingFrameEndsTheBatchWithAShortCount)
{
	Veth v("bb0", "bb1");
	PacketSocket peer(v.b());
	Fd fd = batch_bpf(v.a());
	std::vector<Bytes> frames = {frame(kTestType, 100, 0), frame(kTestType, 200, 1),
				     frame(kTestType, 1515, 2), frame(kTestType, 300, 3)};
	Bytes batch;
	std::vector<size_t> starts;
	for (const Bytes &f : frames) {
		starts.push_back(batch.size());
		append_record(batch, f);
	}
	EXPECT_EQ(write(fd.get(), batch.data(), batch.size()), ssize_t(starts[2]))
		<< "the bytes of the two records sent";
	EXPECT_EQ(write(fd.get(), batch.data() + starts[2], batch.size() - starts[2]), -1);
	EXPECT_EQ(errno, EMSGSIZE) << "the rest, written again, reports the frame's error";
	std::vector<Bytes> expect(frames.begin(), frames.begin() + 2);
	EXPECT_EQ(test_frames(peer.drain()), expect);

	// The write filter refuses a frame of another type: EPERM for it alone.
	bpf_insn only_test_type[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kTestType, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	bpf_program prog{4, only_test_type};
	ASSERT_EQ(ioctl(fd.get(), BIOCSETWF, &prog), 0);
	batch.clear();
	append_record(batch, frames[0]);
	const size_t second = batch.size();
	append_record(batch, frame(kOtherType, 100, 9));
	append_record(batch, frames[1]);
	EXPECT_EQ(write(fd.get(), batch.data(), batch.size()), ssize_t(second));
	EXPECT_EQ(write(fd.get(), batch.data() + second, batch.size() - second), -1);
	EXPECT_EQ(errno, EPERM);
	EXPECT_EQ(test_frames(peer.drain()), std::vector<Bytes>{frames[0]});
}

TEST(BatchWrite, TrailingBytesShorterThanAHeaderAreLeftUnwritten)
{
	Veth v("bb0", "bb1");
	PacketSocket peer(v.b());
	Fd fd = batch_bpf(v.a());
	const Bytes f = frame(kTestType, 100, 1);
	Bytes batch;
	append_record(batch, f);
	const size_t whole = batch.size();
	batch.resize(whole + 10, 0xee);
	EXPECT_EQ(write(fd.get(), batch.data(), batch.size()), ssize_t(whole)) << "as xnu: a short count";
	EXPECT_EQ(test_frames(peer.drain()), std::vector<Bytes>{f});
}
