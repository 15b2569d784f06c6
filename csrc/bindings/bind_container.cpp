// Python bindings of the .pcs container core (python/pcstream/container.py
// wraps these into the documented API).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>

#include "pcstream/container.hpp"
#include "pcstream/crc32c.hpp"
#include "registry.hpp"

namespace py = pybind11;
using namespace pcstream;

namespace {

struct Bytes {
  const uint8_t* p;
  size_t n;
};

// A read-only view of any C-contiguous bytes-like object (bytes, bytearray,
// memoryview, mmap, numpy uint8); `info` keeps the export alive.
Bytes view(const py::buffer& b, py::buffer_info& info) {
  info = b.request();
  if (info.ndim > 1 || (info.ndim == 1 && info.size > 1 && info.strides[0] != info.itemsize))
    throw Error(ErrorCode::InvalidArgument, "expected contiguous 1-D bytes");
  return {static_cast<const uint8_t*>(info.ptr), size_t(info.size * info.itemsize)};
}

py::bytes to_bytes(const std::vector<uint8_t>& v) {
  return py::bytes(reinterpret_cast<const char*>(v.data()), v.size());
}

py::bytes type_bytes(const ChunkType& t) { return py::bytes(reinterpret_cast<const char*>(t.data()), 4); }

ChunkType type_from(const py::bytes& b) {
  std::string s = b;
  if (s.size() != 4) throw Error(ErrorCode::InvalidArgument, "chunk type must be exactly 4 bytes");
  return chunk_type(s.data());
}

py::object entry_tuple(const IndexEntry& e) { return py::make_tuple(e.offset, e.info, py::bytes(reinterpret_cast<const char*>(e.raw.data()), e.raw.size())); }

IndexEntry entry_from(uint64_t offset, const ChunkInfo& info, const py::bytes& raw) {
  IndexEntry e;
  e.offset = offset;
  e.info = info;
  std::string s = raw;
  if (s.size() != kChunkFieldsSize) throw Error(ErrorCode::InvalidArgument, "raw entry must be 88 bytes");
  std::memcpy(e.raw.data(), s.data(), kChunkFieldsSize);
  return e;
}

py::list events_to_list(std::vector<StreamEvent>&& evs) {
  py::list out;
  for (auto& e : evs) {
    const char* kind = e.kind == StreamEvent::Kind::Metadata ? "metadata" : e.kind == StreamEvent::Kind::Chunk ? "chunk" : "end";
    py::object info = e.kind == StreamEvent::Kind::Chunk ? py::cast(e.info) : py::none();
    out.append(py::make_tuple(kind, e.offset, info, to_bytes(e.payload)));
  }
  return out;
}

// Raise the pcstream.errors exception of `e` with the events parsed before it.
[[noreturn]] void raise_with_partial(const Error& e, py::list partial, uint64_t last_good) {
  py::object exc = py::module_::import("pcstream.errors").attr("from_code")(int(e.code()), e.what(), e.offset());
  exc.attr("partial") = partial;
  exc.attr("last_good_offset") = last_good;
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  throw py::error_already_set();
}

void bind(py::module_& m) {
  m.attr("PCS_MAJOR") = int(kPcsMajor);
  m.attr("PCS_MINOR") = int(kPcsMinor);
  m.attr("PCS_FILE_HEADER_SIZE") = kFileHeaderSize;
  m.attr("PCS_CHUNK_HEADER_SIZE") = kChunkHeaderSize;
  m.attr("PCS_FOOTER_SIZE") = kFooterSize;

  m.def("crc32c", [](py::buffer b, uint32_t crc) {
    py::buffer_info bi;
    Bytes v = view(b, bi);
    return crc32c_extend(crc, v.p, v.n);
  }, py::arg("data"), py::arg("crc") = 0, "CRC32C of data, continuing from `crc`.");
  m.def("crc32c_hardware", &crc32c_hardware);
  m.def("crc32c_portable", [](py::buffer b, uint32_t crc) {
    py::buffer_info bi;
    Bytes v = view(b, bi);
    return crc32c_extend_portable(crc, v.p, v.n);
  }, py::arg("data"), py::arg("crc") = 0, "CRC32C by the table path only (for tests and benches).");

  py::class_<Limits>(m, "PcsLimits")
      .def(py::init<>())
      .def_readwrite("max_points", &Limits::max_points)
      .def_readwrite("max_chunk_bytes", &Limits::max_chunk_bytes)
      .def_readwrite("max_total_bytes", &Limits::max_total_bytes)
      .def_readwrite("max_depth", &Limits::max_depth)
      .def_readwrite("max_metadata_bytes", &Limits::max_metadata_bytes)
      .def_readwrite("max_chunks", &Limits::max_chunks)
      .def_readwrite("max_decoded_bytes", &Limits::max_decoded_bytes);

  py::class_<ChunkInfo>(m, "PcsChunkInfo")
      .def(py::init<>())
      .def_property("type", [](const ChunkInfo& c) { return type_bytes(c.type); },
                    [](ChunkInfo& c, const py::bytes& b) { c.type = type_from(b); })
      .def_readwrite("critical", &ChunkInfo::critical)
      .def_readwrite("has_bounds", &ChunkInfo::has_bounds)
      .def_readwrite("codec_id", &ChunkInfo::codec_id)
      .def_readwrite("codec_version", &ChunkInfo::codec_version)
      .def_readwrite("level_lo", &ChunkInfo::level_lo)
      .def_readwrite("level_hi", &ChunkInfo::level_hi)
      .def_readwrite("stream_id", &ChunkInfo::stream_id)
      .def_readwrite("payload_length", &ChunkInfo::payload_length)
      .def_readwrite("point_count", &ChunkInfo::point_count)
      .def_readwrite("decoded_size", &ChunkInfo::decoded_size)
      .def_readwrite("bounds", &ChunkInfo::bounds);

  py::class_<ContainerWriter>(m, "PcsContainerWriter")
      .def(py::init<>())
      .def("begin", [](ContainerWriter& w, py::buffer meta) {
        py::buffer_info bi;
        Bytes v = view(meta, bi);
        return to_bytes(w.begin(v.p, v.n));
      })
      .def("add_chunk", [](ContainerWriter& w, const ChunkInfo& info, py::buffer payload) {
        py::buffer_info bi;
        Bytes v = view(payload, bi);
        std::vector<uint8_t> out;
        {
          py::gil_scoped_release nogil;  // CRC of large payloads
          out = w.add_chunk(info, v.p, v.n);
        }
        return to_bytes(out);
      })
      .def("frame_chunk", [](ContainerWriter& w, const ChunkInfo& info, py::buffer payload) {
        py::buffer_info bi;
        Bytes v = view(payload, bi);
        ContainerWriter::Frame f;
        {
          py::gil_scoped_release nogil;
          f = w.frame_chunk(info, v.p, v.n);
        }
        return py::make_tuple(py::bytes(reinterpret_cast<const char*>(f.header.data()), f.header.size()),
                              py::bytes(reinterpret_cast<const char*>(f.crc.data()), f.crc.size()));
      }, "Register a chunk; returns (header, crc): write header, payload, crc.")
      .def("finish", [](ContainerWriter& w) { return to_bytes(w.finish()); })
      .def_property_readonly("bytes_written", &ContainerWriter::bytes_written);

  m.def("pcs_parse_file_header", [](py::buffer b, const Limits& L) {
    py::buffer_info bi;
    Bytes v = view(b, bi);
    FileHeader h = parse_file_header(v.p, v.n, L);
    return py::make_tuple(h.major, h.minor, h.flags, h.metadata_length, h.metadata_crc);
  });
  m.def("pcs_check_metadata", [](py::buffer b, uint32_t length, uint32_t crc) {
    py::buffer_info bi;
    Bytes v = view(b, bi);
    FileHeader h;
    h.metadata_length = length;
    h.metadata_crc = crc;
    check_metadata(h, v.p, v.n);
  });
  m.def("pcs_parse_footer", [](py::buffer b, uint64_t file_size, const Limits& L) {
    py::buffer_info bi;
    Bytes v = view(b, bi);
    Footer f = parse_footer(v.p, v.n, file_size, L);
    return py::make_tuple(f.index_offset, f.index_length, f.entry_count);
  });
  m.def("pcs_parse_index", [](py::buffer b, uint64_t index_offset, uint64_t index_length, uint32_t entry_count,
                              uint64_t data_start, const Limits& L) {
    py::buffer_info bi;
    Bytes v = view(b, bi);
    Footer f;
    f.index_offset = index_offset;
    f.index_length = index_length;
    f.entry_count = entry_count;
    py::list out;
    for (const auto& e : parse_index_chunk(v.p, v.n, f, data_start, L)) out.append(entry_tuple(e));
    return out;
  });
  m.def("pcs_check_chunk", [](py::buffer b, uint64_t offset, const ChunkInfo& info, const py::bytes& raw,
                              const Limits& L) {
    py::buffer_info bi;
    Bytes v = view(b, bi);
    IndexEntry e = entry_from(offset, info, raw);
    size_t at;
    {
      py::gil_scoped_release nogil;
      at = check_chunk_bytes(v.p, v.n, e, L);
    }
    return py::bytes(reinterpret_cast<const char*>(v.p + at), size_t(info.payload_length));
  }, "Check a whole chunk read through the index and return its payload.");
  m.def("pcs_verify", [](py::buffer b, const Limits& L) {
    py::buffer_info bi;
    Bytes v = view(b, bi);
    VerifyResult r;
    {
      py::gil_scoped_release nogil;
      r = verify(v.p, v.n, L);
    }
    return py::make_tuple(int(r.code), r.check, r.message, r.offset, r.chunks);
  });
  m.def("pcs_is_known_chunk_type", [](const py::bytes& t) { return is_known_chunk_type(type_from(t)); });

  py::class_<StreamParser>(m, "PcsStreamParser")
      .def(py::init<const Limits&>(), py::arg("limits") = Limits())
      .def("feed", [](StreamParser& s, py::buffer b) {
        py::buffer_info bi;
        Bytes v = view(b, bi);
        try {
          s.feed(v.p, v.n);
        } catch (const Error& e) {
          raise_with_partial(e, events_to_list(s.take_events()), s.last_good_offset());
        }
        return events_to_list(s.take_events());
      }, "Parse more bytes; returns [(kind, offset, ChunkInfo|None, payload)]. On error the "
         "exception's `partial` holds the events parsed before it.")
      .def("finish", [](StreamParser& s) {
        try {
          s.finish();
        } catch (const Error& e) {
          raise_with_partial(e, events_to_list(s.take_events()), s.last_good_offset());
        }
      })
      .def_property_readonly("last_good_offset", &StreamParser::last_good_offset)
      .def_property_readonly("bytes_fed", &StreamParser::bytes_fed)
      .def_property_readonly("done", &StreamParser::done)
      .def_property_readonly("entries", [](const StreamParser& s) {
        py::list out;
        for (const auto& e : s.chunks()) out.append(entry_tuple(e));
        return out;
      });
}

pcstream_py::Registrar reg("container", &bind);

}  // namespace
