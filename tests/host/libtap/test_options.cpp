// Option validation, open-string parsing, errors.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <tap/device.hpp>

using namespace tap;

TEST(Options, DefaultsAreValid)
{
	EXPECT_TRUE(validate(Options{}));
}

TEST(Options, OutOfRangeFieldsAreNamedInTheError)
{
	auto check = [](Options o, const char *field) {
		auto r = validate(o);
		ASSERT_FALSE(r) << field;
		EXPECT_EQ(r.error().code, errc::invalid_option);
		EXPECT_NE(r.error().context.find(field), std::string::npos) << r.error().context;
	};
	Options o;
	o.buffer_size = 16;
	check(o, "buffer_size");
	o = {};
	o.buffer_size = std::size_t{1} << 33;
	check(o, "buffer_size");
	o = {};
	o.snap_length = 0;
	check(o, "snap_length");
	o = {};
	o.snap_length = Options::max_snap_length + 1;
	check(o, "snap_length");
	o = {};
	o.read_timeout = std::chrono::milliseconds(-1);
	check(o, "read_timeout");
	o = {};
	o.direction = static_cast<Direction>(7);
	check(o, "direction");
	o = {};
	o.filter = "tcp";
	o.filter_program = Filter::accept_all(10);
	check(o, "filter");
}

TEST(Options, BoundaryValuesAreValid)
{
	Options o;
	o.buffer_size = BPF_MINBUFSIZE;
	o.snap_length = 1;
	o.read_timeout = std::chrono::milliseconds(0);
	EXPECT_TRUE(validate(o));
	o.snap_length = Options::max_snap_length;
	EXPECT_TRUE(validate(o));
}

TEST(DeviceOpen, InvalidOptionsFailBeforeTouchingTheDevice)
{
	Options o;
	o.snap_length = 0;
	auto d = Device::open("bpf:nonexistent0", o);
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error().code, errc::invalid_option);
	EXPECT_NE(d.error().context.find("bpf:nonexistent0"), std::string::npos);
}

#if LIBTAP_HAVE_DPDK
TEST(DeviceOpen, DpdkStringsGoToTheDpdkBackend)
{
	auto d = Device::open("dpdk:net_null0@5/2"); // the DPDK parser's error, before any EAL
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error().code, errc::invalid_option);
	EXPECT_NE(d.error().message().find("QUEUE/QUEUES"), std::string::npos) << d.error().message();
}
#else
TEST(DeviceOpen, DpdkWithoutTheBackendSaysItIsNotBuilt)
{
	auto d = Device::open("dpdk:net_null0");
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error().code, errc::backend_unavailable);
	EXPECT_NE(d.error().message().find("dpdk: is not built"), std::string::npos);
}
#endif

TEST(DeviceOpen, UnknownSchemeIsAnError)
{
	auto d = Device::open("xdp:eth0");
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error().code, errc::unknown_backend);
}

TEST(DeviceOpen, EmptyOrTooLongInterfaceNameIsAnError)
{
	EXPECT_EQ(Device::open("bpf:").error().code, errc::invalid_option);
	EXPECT_EQ(Device::open("bpf:abcdefghijklmnopqrstuvwxyz").error().code, errc::invalid_option);
}

TEST(DeviceOpen, MissingModuleSaysSo)
{
	struct stat st;
	if (::stat("/dev/bpf", &st) == 0 || ::stat("/dev/bpf0", &st) == 0)
		GTEST_SKIP() << "a /dev/bpf exists here";
	auto d = Device::open("bpf:lo");
	ASSERT_FALSE(d);
	EXPECT_EQ(d.error().code, std::errc::no_such_file_or_directory);
	EXPECT_NE(d.error().message().find("bpfdev module"), std::string::npos) << d.error().message();
}

TEST(Errors, MessageJoinsContextAndDescription)
{
	Error e = Error::from_errno(ENXIO, "bpf:eth9: BIOCSETIF");
	EXPECT_EQ(e.message(), "bpf:eth9: BIOCSETIF: " + std::generic_category().message(ENXIO));
	EXPECT_EQ(e.code, std::errc::no_such_device_or_address);
	Error parse{errc::record_past_end, "x"};
	EXPECT_EQ(parse.code.category().name(), std::string("libtap"));
}

TEST(Errors, UnwrapThrowsWithTheCode)
{
	Result<int> bad = fail(errc::bad_filter, "filter \"x\"");
	try {
		unwrap(std::move(bad));
		FAIL() << "no throw";
	} catch (const Exception &e) {
		EXPECT_EQ(e.code(), errc::bad_filter);
		EXPECT_NE(std::string(e.what()).find("filter \"x\""), std::string::npos);
	}
	EXPECT_EQ(unwrap(Result<int>(5)), 5);
}
