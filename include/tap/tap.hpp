// Everything libtap offers, in one include.
#pragma once

#include <tap/batch.hpp>
#include <tap/device.hpp>
#include <tap/errc.hpp>
#include <tap/error.hpp>
#include <tap/filter.hpp>
#include <tap/group.hpp>
#include <tap/options.hpp>
#include <tap/packet.hpp>
#include <tap/records.hpp>
