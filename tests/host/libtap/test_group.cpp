// CaptureGroup's checks that come before any descriptor is opened.
#include <gtest/gtest.h>

#include <tap/tap.hpp>

TEST(CaptureGroup, MemberCountOutOfRangeIsAnOptionError)
{
	tap::GroupOptions g;
	g.members = 0;
	auto r = tap::CaptureGroup::open("bpf:eth0", g);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, tap::errc::invalid_option);
	EXPECT_EQ(r.error().context, "bpf:eth0: group members must be 1..256");
	g.members = 257;
	EXPECT_EQ(tap::CaptureGroup::open("bpf:eth0", g).error().code, tap::errc::invalid_option);
}

TEST(CaptureGroup, DpdkGroupsAreQueuesSpreadByRssOnly)
{
	auto r = tap::CaptureGroup::open("dpdk:net_null0@0/2", tap::GroupOptions{});
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, tap::errc::invalid_option) << "the group picks the queues";
	tap::GroupOptions g;
	g.spread = tap::Spread::round_robin;
	r = tap::CaptureGroup::open("dpdk:net_null0", g);
	ASSERT_FALSE(r);
	EXPECT_EQ(r.error().code, tap::errc::invalid_option);
	EXPECT_NE(r.error().context.find("RSS"), std::string::npos);
}

TEST(CaptureGroup, SpecAndOptionsAreCheckedAsDeviceChecksThem)
{
	EXPECT_EQ(tap::CaptureGroup::open("xyz:eth0", tap::GroupOptions{}).error().code,
		  tap::errc::unknown_backend);
	EXPECT_EQ(tap::CaptureGroup::open("bpf:", tap::GroupOptions{}).error().code,
		  tap::errc::invalid_option);
	tap::Options o;
	o.snap_length = 0;
	EXPECT_EQ(tap::CaptureGroup::open("bpf:eth0", tap::GroupOptions{}, o).error().code,
		  tap::errc::invalid_option);
}
