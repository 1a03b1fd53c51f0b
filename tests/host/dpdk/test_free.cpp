// How a read's mbufs go back: plain ones (unshared, one segment, direct,
// from the queue's own pool) straight into that pool; any other through
// the full free, which drops one reference, detaches an indirect mbuf from
// its parent and returns a foreign mbuf to its own pool. The test puts such
// mbufs into net_ring's loopback ring itself, between frames the backend
// sent, and checks each one's state after the batch holding it is freed.
#include <cstring>

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "helpers.hpp"

using namespace dpdktest;
using namespace std::chrono;

namespace {

rte_mbuf *mbuf_of(rte_mempool *pool, const Bytes &f)
{
	rte_mbuf *m = rte_pktmbuf_alloc(pool);
	if (!m)
		return nullptr;
	auto *p = rte_pktmbuf_append(m, static_cast<std::uint16_t>(f.size()));
	std::memcpy(p, f.data(), f.size());
	return m;
}

// Reads until a batch held `want` packets in all; each batch is freed by
// the read after it, and the last one by the empty read that ends this.
std::size_t read_all(tap::Device &dev, std::size_t want)
{
	std::size_t got = 0;
	while (got < want) {
		auto b = dev.read(milliseconds(500));
		if (!b || b->empty())
			break;
		got += b->count();
	}
	(void)dev.try_read(); // frees the last batch
	return got;
}

} // namespace

TEST(Free, SharedIndirectAndForeignMbufsTakeTheFullFree)
{
	tap::Options o;
	o.header_complete = true;
	tap::Device dev = open_or_die("dpdk:net_ring0", o);
	// net_ring0's loopback ring: what the port transmits it receives.
	rte_ring *ring = rte_ring_lookup("ETH_RXTX0_net_ring0");
	ASSERT_NE(ring, nullptr) << "net_ring's ring is named differently in this DPDK";

	rte_mempool *foreign = rte_pktmbuf_pool_create("tapfree", 63, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	ASSERT_NE(foreign, nullptr);
	const unsigned foreign_free = rte_mempool_avail_count(foreign);

	rte_mbuf *shared = mbuf_of(foreign, frame(1, 64));
	rte_mbuf *parent = mbuf_of(foreign, frame(2, 80));
	ASSERT_NE(shared, nullptr);
	ASSERT_NE(parent, nullptr);
	rte_mbuf_refcnt_update(shared, 1); // the test keeps a reference
	rte_mbuf *clone = rte_pktmbuf_clone(parent, foreign); // indirect: parent's refcnt 2
	ASSERT_NE(clone, nullptr);
	ASSERT_EQ(rte_mbuf_refcnt_read(parent), 2);
	rte_mbuf *alone = mbuf_of(foreign, frame(3, 96)); // plain but not the queue's pool
	ASSERT_NE(alone, nullptr);

	// Between frames of the port's own pool, so a batch mixes both kinds.
	std::vector<Bytes> frames;
	for (std::uint32_t i = 0; i < 40; ++i)
		frames.push_back(frame(100 + i, 60));
	const std::vector<std::span<const std::byte>> first(frames.begin(), frames.begin() + 20);
	const std::vector<std::span<const std::byte>> rest(frames.begin() + 20, frames.end());
	ASSERT_EQ(dev.write(first).value_or(0), 20u);
	void *ours[] = {shared, clone, alone};
	ASSERT_EQ(rte_ring_enqueue_bulk(ring, ours, 3, nullptr), 3u);
	ASSERT_EQ(dev.write(rest).value_or(0), 20u);

	ASSERT_EQ(read_all(dev, 43), 43u);
	// The batch's free took our one reference from `shared` and left the
	// test's; it returned the clone (parent back to 1) and `alone` to the
	// foreign pool. Straight into the queue's pool, all three would be lost
	// there: refcnt 2, parent 2, and three mbufs missing from `foreign`.
	EXPECT_EQ(rte_mbuf_refcnt_read(shared), 1);
	EXPECT_EQ(rte_mbuf_refcnt_read(parent), 1);
	EXPECT_EQ(rte_mempool_avail_count(foreign), foreign_free - 2); // shared and parent
	rte_pktmbuf_free(shared);
	rte_pktmbuf_free(parent);
	EXPECT_EQ(rte_mempool_avail_count(foreign), foreign_free);
	rte_mempool_free(foreign);
}

// The queue's own frames keep cycling through its pool: far more frames
// than the pool holds go through, in batches that mix plain and foreign
// mbufs, and every frame comes back.
TEST(Free, PlainMbufsReturnToTheQueuesPool)
{
	tap::Options o;
	o.header_complete = true;
	tap::Device dev = open_or_die("dpdk:net_ring0", o);
	rte_ring *ring = rte_ring_lookup("ETH_RXTX0_net_ring0");
	ASSERT_NE(ring, nullptr);
	rte_mempool *foreign = rte_pktmbuf_pool_create("tapfree2", 63, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	ASSERT_NE(foreign, nullptr);
	const unsigned foreign_free = rte_mempool_avail_count(foreign);
	std::vector<Bytes> frames;
	for (std::uint32_t i = 0; i < 256; ++i)
		frames.push_back(frame(i, 60));
	const std::vector<std::span<const std::byte>> spans(frames.begin(), frames.end());
	for (int round = 0; round < 64; ++round) { // 16 384 frames through a 4095-mbuf pool
		std::size_t sent = 0;
		while (sent < spans.size()) {
			auto n = dev.write(std::span(spans).subspan(sent));
			ASSERT_TRUE(n) << "round " << round << ": " << n.error().message();
			sent += *n;
		}
		rte_mbuf *m = mbuf_of(foreign, frame(9999, 64));
		ASSERT_NE(m, nullptr);
		void *one[] = {m};
		ASSERT_EQ(rte_ring_enqueue_bulk(ring, one, 1, nullptr), 1u);
		ASSERT_EQ(read_all(dev, 257), 257u) << "round " << round;
		EXPECT_EQ(rte_mempool_avail_count(foreign), foreign_free) << "round " << round;
	}
	rte_mempool_free(foreign);
}
