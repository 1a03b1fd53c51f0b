// DPDK backend, steady state: bursts into batches, the idle back-off,
// interrupt, transmit, counters.
#include "dpdk_backend.hpp"

#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

#include "eal.hpp"

namespace tap::dpdk {

using namespace std::chrono;

namespace {

constexpr std::uint16_t burst_size = 32; // per rte_eth_rx_burst, as testpmd

// Idle back-off (README "DPDK"): after the queue was last found non-empty,
// spin for spin_window; then sleep in ppoll (the interrupt eventfd and, where
// the PMD has them, the queue's receive interrupt), starting at first_sleep
// and doubling up to max_sleep between polls.
constexpr nanoseconds spin_window = microseconds(100);
constexpr nanoseconds first_sleep = microseconds(10);
constexpr nanoseconds max_sleep = microseconds(500);

// An mbuf the pool can take back as it is: unshared (refcnt 1), one
// segment, its own data (not indirect or external) and from this queue's
// pool. Such an mbuf already meets the pool's invariants (next NULL comes
// with nb_segs 1: a PMD that chains sets both), which is what
// rte_pktmbuf_free_bulk would check and restore one mbuf at a time,
// re-reading each mbuf's second cache line for `next`. All from line 0,
// which the loop has loaded anyway.
bool plain_mbuf(const rte_mbuf *m, const rte_mempool *pool) noexcept
{
	return m->nb_segs == 1 && rte_mbuf_refcnt_read(m) == 1 && RTE_MBUF_DIRECT(m) && m->pool == pool;
}

// Free mbufs in one call: straight into the pool when every one is plain
// (the same shortcut as DPDK's RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE), else
// through rte_pktmbuf_free_bulk, which frees chains and shared mbufs.
void free_mbufs(rte_mbuf **mbufs, unsigned n, rte_mempool *pool, bool plain) noexcept
{
	if (plain) [[likely]]
		rte_mempool_put_bulk(pool, reinterpret_cast<void *const *>(mbufs), n);
	else
		rte_pktmbuf_free_bulk(mbufs, n);
}

Timestamp host_now() noexcept
{
	timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return Timestamp(nanoseconds(std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec));
}

} // namespace

DpdkBackend::DpdkBackend(std::shared_ptr<Port> port, std::uint16_t queue, const Options &options,
			 detail::DeviceInfo info, detail::UniqueFd wake, bool drain)
	: Backend(std::move(info)), port_(std::move(port)), port_id_(port_->id()), queue_(queue),
	  pool_(port_->pool(queue)),
	  header_complete_(options.header_complete), immediate_(options.immediate),
	  read_timeout_(duration_cast<nanoseconds>(options.read_timeout)), clock_(port_->clock()),
	  ts_offset_(port_->timestamp_offset()), ts_flag_(port_->timestamp_flag()), snap_(options.snap_length),
	  held_(std::clamp<std::size_t>(port_->rx_descriptors() / 2u, burst_size, Port::max_batch)),
	  views_(held_.size()), linear_(held_.size()), wake_(std::move(wake))
{
	register_thread();
	// Whatever waited in the queue since an earlier Device on it left
	// belongs to nobody: a new Device starts empty, as a new descriptor.
	rte_mbuf *stale[burst_size];
	for (std::uint16_t n; drain && (n = rte_eth_rx_burst(port_id_, queue_, stale, burst_size)) > 0;)
		rte_pktmbuf_free_bulk(stale, n);
	drops_base_ = port_->port_drops();
	if (clock_ == Clock::nic)
		refresh_nic_clock(); // the first sample: the rate comes min_rate_span later
	if (port_->rx_interrupts())
		rx_intr_fd_ = rte_eth_dev_rx_intr_ctl_q_get_fd(port_id_, queue_);
}

DpdkBackend::~DpdkBackend()
{
	release_batch();
	std::lock_guard lock(control_mutex());
	port_->release(queue_);
	port_.reset(); // the last Device on the port stops, closes and removes it
}

std::unexpected<Error> DpdkBackend::sys_error(int err, const std::string &call) const
{
	return fail_errno(err, info_.name + ": " + call);
}

void DpdkBackend::release_batch() noexcept
{
	if (count_)
		free_mbufs(held_.data(), static_cast<unsigned>(count_), pool_, plain_);
	count_ = 0;
	plain_ = true;
}

// A sample of the port's clock when the NicClock wants one; the next due
// time as a TSC deadline, so the read loop decides without a syscall.
void DpdkBackend::refresh_nic_clock() noexcept
{
	std::int64_t wait = NicClock::refresh_period; // a failed sample: try again then
	if (auto s = port_->sample_clock()) {
		nic_clock_.add(*s);
		wait = std::clamp<std::int64_t>(nic_clock_.next_due() - s->host_after, 0,
						NicClock::refresh_period);
	}
	const auto hz = static_cast<uint128>(rte_get_timer_hz());
	nic_due_ = rte_get_timer_cycles() +
		   static_cast<std::uint64_t>(hz * static_cast<std::uint64_t>(wait) / NicClock::ns_per_s);
}

bool DpdkBackend::stamp_map(NicClock::Map &map) noexcept
{
	switch (clock_) {
	case Clock::host:
		return false;
	case Clock::pcap_micros: // µs, no map
		return true;
	case Clock::nic:
		if (rte_get_timer_cycles() >= nic_due_) [[unlikely]]
			refresh_nic_clock();
		if (!nic_clock_.map())
			return false; // no rate yet: host time
		map = *nic_clock_.map();
		return true;
	}
	return false;
}

// Take a burst into the batch: each mbuf the filter keeps gets a view, the
// rejected ones go back to the pool in one bulk free at the end. Counters
// and the per-port constants live in locals here, so the loop keeps them
// in registers instead of storing through `this` once per packet.
template <bool Filtered>
[[gnu::always_inline]] inline void DpdkBackend::take_burst(rte_mbuf *const *burst, std::uint16_t n)
{
	// Host time: one reading per burst, taken when its first frame is
	// kept (a burst the filter rejects whole reads no clock). Stamps the
	// PMD wrote (ts_flag_): net_pcap's µs, or NIC ticks through the map,
	// whose constants are locals. (net_pcap keeps its plain × 1000: a map
	// would cost it the 128-bit multiply for nothing.)
	Timestamp now{};
	bool have_now = false;
	NicClock::Map map{};
	const bool stamped = stamp_map(map);
	const bool nic = clock_ == Clock::nic;
	const std::uint64_t ts_flag = ts_flag_;
	const int ts_offset = ts_offset_;
	rte_mbuf *rejected[burst_size];
	unsigned nrejected = 0;
	std::size_t count = count_;
	const std::uint32_t snap = snap_;
	rte_mbuf **const held = held_.data();
	PacketView *const views = views_.data();
	const rte_mempool *const pool = pool_;
	bool plain = plain_;
	bool rejected_plain = true;
	for (std::uint16_t i = 0; i < n; ++i) {
		rte_mbuf *m = burst[i];
		const bool this_plain = plain_mbuf(m, pool);
		if constexpr (Filtered) { // the filter reads the next frame: fetch it meanwhile
			if (i + 1 < n)
				rte_prefetch0(rte_pktmbuf_mtod(burst[i + 1], void *));
		}
		const auto *data = rte_pktmbuf_mtod(m, const std::byte *);
		std::uint32_t len = m->data_len;
		const std::uint32_t wire = m->pkt_len;
		if (m->nb_segs > 1) [[unlikely]] {
			// Chained mbufs (frames larger than one mbuf): copied whole into
			// this slot's buffer, so the filter and the view see one span.
			auto &buf = linear_[count];
			buf.resize(wire);
			data = static_cast<const std::byte *>(rte_pktmbuf_read(m, 0, wire, buf.data()));
			len = wire;
		}
		std::uint32_t keep = snap;
		if constexpr (Filtered) {
			keep = filter_->run({reinterpret_cast<const std::uint8_t *>(data), len}, wire);
			if (keep == 0) {
				rejected[nrejected++] = m;
				rejected_plain &= this_plain;
				continue;
			}
		}
		Timestamp stamp;
		if (stamped && (m->ol_flags & ts_flag)) {
			const std::uint64_t raw = *RTE_MBUF_DYNFIELD(m, ts_offset, const std::uint64_t *);
			stamp = nic ? Timestamp(nanoseconds(map.to_ns(raw))) : Timestamp(microseconds(raw));
		} else {
			if (!have_now) [[unlikely]] {
				now = host_now();
				have_now = true;
			}
			stamp = now;
		}
		held[count] = m;
		views[count] = PacketView({data, std::min(len, keep)}, wire, stamp);
		++count;
		plain &= this_plain;
	}
	if (nrejected)
		free_mbufs(rejected, nrejected, pool_, rejected_plain);
	plain_ = plain;
	seen_ += n;
	accepted_ += count - count_;
	count_ = count;
}

std::uint16_t DpdkBackend::poll_once()
{
	const auto room = static_cast<std::uint16_t>(std::min<std::size_t>(burst_size, held_.size() - count_));
	rte_mbuf *burst[burst_size];
	const std::uint16_t n = rte_eth_rx_burst(port_id_, queue_, burst, room);
	if (n == 0)
		return 0;
	if (filter_)
		take_burst<true>(burst, n);
	else // nothing reads the frames here; leave them to the caller
		take_burst<false>(burst, n);
	return n;
}

Result<Batch> DpdkBackend::try_read()
{
	register_thread();
	release_batch();
	// Until the queue is empty or the batch full, taking at most a batch's
	// worth from the queue: a filter that rejects an endless stream must
	// not keep this call from returning.
	for (std::size_t taken = 0; count_ < held_.size() && taken < held_.size();) {
		const std::uint16_t got = poll_once();
		taken += got;
		if (got < burst_size)
			break;
	}
	return Batch::views({views_.data(), count_});
}

bool DpdkBackend::consume_interrupt() noexcept
{
	// A plain load first: the locked exchange only when there is a flag
	// to take, not on every poll of a busy queue. A load that misses a
	// store just made sees it on the next poll (a few hundred ns later),
	// or ppoll wakes on the eventfd interrupt() writes after the store.
	if (!interrupted_.load(std::memory_order_relaxed) ||
	    !interrupted_.exchange(false, std::memory_order_acquire))
		return false;
	std::uint64_t n;
	// interrupt() stores the flag before it writes the eventfd, so this
	// may find the count not yet written: the next sleep then wakes once
	// for nothing and idle_wait drains the count.
	[[maybe_unused]] auto r = ::read(wake_.get(), &n, sizeof n);
	return true;
}

void DpdkBackend::interrupt() noexcept
{
	// Async-signal-safe: a lock-free atomic store and write(2).
	interrupted_.store(true, std::memory_order_release);
	const std::uint64_t one = 1;
	[[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
}

// Sleep until the slice ends, interrupt() is called, or (where the PMD
// has receive interrupts) a packet arrives.
void DpdkBackend::idle_wait(nanoseconds slice)
{
	pollfd fds[2] = {{wake_.get(), POLLIN, 0}, {rx_intr_fd_, POLLIN, 0}};
	nfds_t nfds = 1;
	if (rx_intr_fd_ >= 0 && rte_eth_dev_rx_intr_enable(port_id_, queue_) == 0)
		nfds = 2;
	timespec ts{0, static_cast<long>(slice.count())};
	::ppoll(fds, nfds, &ts, nullptr);
	// A count left by an interrupt() whose flag the loop took before the
	// write landed (a reader preempting the interrupter between its two
	// steps) would make every later ppoll return at once: the read would
	// spin instead of sleeping, and at SCHED_FIFO starve the interrupter
	// on its CPU. Drain it: the flag is stored before the count is written,
	// so a count read here has its flag visible to the loop already.
	if (fds[0].revents & POLLIN) {
		std::uint64_t n;
		[[maybe_unused]] auto r = ::read(wake_.get(), &n, sizeof n);
	}
	if (nfds == 2) {
		rte_eth_dev_rx_intr_disable(port_id_, queue_);
		if (fds[1].revents & POLLIN) {
			std::uint64_t n;
			[[maybe_unused]] auto r = ::read(rx_intr_fd_, &n, sizeof n);
		}
	}
}

Result<Batch> DpdkBackend::read(std::optional<nanoseconds> timeout)
{
	register_thread();
	release_batch();
	// The clock is first read when a poll leaves the batch short (or after
	// 16 full bursts): a read that fills its batch at once reads none, and
	// the timeout runs from then, at most 16 bursts (microseconds) late.
	steady_clock::time_point start{}, last_busy{}, first_packet{};
	bool started = false;
	nanoseconds sleep = first_sleep;
	unsigned full_bursts = 0;
	for (;;) {
		if (consume_interrupt())
			return sys_error(EINTR, "read interrupted");
		const std::size_t before = count_;
		const std::uint16_t got = poll_once();
		if (count_ == held_.size())
			return Batch::views({views_.data(), count_});
		// More waiting: poll on without reading the clock, but not for
		// ever (a filter may be rejecting an endless stream).
		if (got == burst_size && ++full_bursts % 16 != 0)
			continue;
		const auto now = steady_clock::now();
		if (!started) {
			start = last_busy = now;
			started = true;
		}
		if (got) {
			last_busy = now;
			sleep = first_sleep;
		}
		if (count_) {
			if (before == 0)
				first_packet = now;
			// Immediate: hand over what arrived. Otherwise the first
			// packet waits at most read_timeout for the batch to fill.
			if (immediate_ || (read_timeout_.count() > 0 && now - first_packet >= read_timeout_))
				return Batch::views({views_.data(), count_});
		}
		if (timeout && now - start >= *timeout)
			return Batch::views({views_.data(), count_});
		if (now - last_busy < spin_window) {
			rte_pause();
			continue;
		}
		nanoseconds slice = sleep;
		if (timeout)
			slice = std::min(slice, *timeout - (now - start));
		if (count_ && read_timeout_.count() > 0 && !immediate_)
			slice = std::min(slice, read_timeout_ - (now - first_packet));
		idle_wait(std::max(slice, nanoseconds(1000)));
		sleep = std::min(sleep * 2, max_sleep);
	}
}

Result<void> DpdkBackend::check_frame(std::span<const std::byte> frame) const
{
	if (frame.size() < RTE_ETHER_HDR_LEN)
		return sys_error(EINVAL, "write (" + std::to_string(frame.size()) +
						 " bytes, shorter than an Ethernet header)");
	// As the kernel: MTU plus the link header, plus 4 for a tagged frame.
	std::uint32_t limit = port_->max_frame();
	const auto type = static_cast<unsigned>(frame[12]) << 8 | static_cast<unsigned>(frame[13]);
	if (type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ)
		limit += 4;
	if (frame.size() > limit)
		return sys_error(EMSGSIZE, "write (" + std::to_string(frame.size()) + " bytes, above " +
						   std::to_string(limit) + ": MTU plus link header)");
	return {};
}

rte_mbuf *DpdkBackend::make_mbuf(std::span<const std::byte> frame) const
{
	rte_mbuf *m = rte_pktmbuf_alloc(port_->pool(queue_));
	if (!m)
		return nullptr;
	auto *p = static_cast<std::byte *>(
		static_cast<void *>(rte_pktmbuf_append(m, static_cast<std::uint16_t>(frame.size()))));
	if (!p) { // the pool's data room covers max_frame() + 4 (port.cpp)
		rte_pktmbuf_free(m);
		return nullptr;
	}
	std::memcpy(p, frame.data(), frame.size());
	if (!header_complete_) // as bpf(4): the source address is the port's
		std::memcpy(p + RTE_ETHER_ADDR_LEN, port_->mac().addr_bytes, RTE_ETHER_ADDR_LEN);
	return m;
}

Result<void> DpdkBackend::write(std::span<const std::byte> frame)
{
	const std::span<const std::byte> one[1] = {frame};
	auto sent = write(std::span<const std::span<const std::byte>>(one));
	if (!sent)
		return std::unexpected(std::move(sent.error()));
	return {};
}

Result<std::size_t> DpdkBackend::write(std::span<const std::span<const std::byte>> frames)
{
	register_thread();
	std::size_t done = 0;
	while (done < frames.size()) {
		// One burst per call where it fits: build up to burst_size mbufs,
		// stopping before a frame that cannot go (reported alone below).
		rte_mbuf *burst[burst_size];
		std::uint16_t n = 0;
		std::optional<Error> bad;
		for (std::size_t i = done; i < frames.size() && n < burst_size; ++i) {
			if (auto ok = check_frame(frames[i]); !ok) {
				bad = std::move(ok.error());
				break;
			}
			if (!(burst[n] = make_mbuf(frames[i]))) {
				bad = sys_error(ENOBUFS, "write (no free mbuf in the device's pool)").error();
				break;
			}
			++n;
		}
		const std::uint16_t sent = n ? rte_eth_tx_burst(port_id_, queue_, burst, n) : 0;
		if (sent < n)
			rte_pktmbuf_free_bulk(burst + sent, n - sent);
		done += sent;
		if (sent < n) {
			if (done == 0)
				return sys_error(ENOBUFS, "write (transmit queue full)");
			break; // as sendmmsg: the count now, the error on the next call
		}
		if (bad) {
			if (done == 0)
				return std::unexpected(std::move(*bad));
			break;
		}
	}
	return done;
}

Result<Stats> DpdkBackend::stats() const
{
	// Drops DPDK counts per port (ring full: imissed; no mbuf: rx_nombuf)
	// are packets nobody saw, so no filter verdict: they count as
	// received, accepted and dropped, once, on the lowest open queue.
	std::uint64_t drops = 0;
	{
		std::lock_guard lock(control_mutex());
		if (port_->reports_port_drops(queue_))
			drops = port_->port_drops() - drops_base_;
	}
	return Stats{seen_ + drops, drops, accepted_ + drops};
}

Result<void> DpdkBackend::set_filter(const Filter &filter)
{
	auto compiled = cbpf::Filter::create(filter.instructions());
	if (!compiled)
		return sys_error(EINVAL, "set_filter (" + compiled.error().message() + ")");
	filter_ = std::move(*compiled);
	snap_ = filter.snap_length(Options::max_snap_length);
	info_.snap_length = snap_;
	return {};
}

std::optional<int> DpdkBackend::pollable_handle() const noexcept
{
	if (rx_intr_fd_ < 0)
		return std::nullopt;
	return rx_intr_fd_;
}

} // namespace tap::dpdk
