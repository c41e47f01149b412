// VideoIO: the video front end of Glassbox, and the only module that sees FFmpeg's C API.
//
// Reading
//   VideoReader(path:)            demux + decode (frame/slice threads, automatic count) + libswscale
//                                 to RGB24, one frame at a time; `info` is the metadata.
//   VideoReader.probe(path:)      metadata, with the frame count counted when the container has none.
//   forEachFrame / frames         sampling (every, every Nth, N evenly spaced, target fps), a time
//                                 range (seeks when the start is far ahead) and a frame cap.
//   loadImage(path:)              a still (JPEG, PNG, ...) through FFmpeg's image demuxers.
//
// Writing
//   VideoWriter                   RGB frames -> H.264 (libx264 CRF + preset), MJPEG or MPEG-4
//                                 (qscale) or PNG, container by extension; whole or nothing
//                                 ("<path>.partial" renamed by finish()).
//   encodePNG, reencode           one frame to PNG bytes; a clip re-encoded with sampling.
//   roundTrip, jpegRoundTrip      encode + decode in memory (no container), single-threaded and
//                                 therefore identical on every machine; JPEG at libjpeg quality.
//
// Errors and logs
//   Every FFmpeg return code passes through `check` (VideoError.swift), which throws a VideoError
//   with the operation, the code and av_strerror's text; `description` is one line,
//   "<path>: <reason>". Kinds: .missing, .badInput, .io, .internal (for exit codes 66/65/74/70).
//   End of stream is `nil`, never an error. FFmpeg's own log goes to `FFmpegLog` (a ring of recent
//   lines, copied into each VideoError), never to the terminal.
//
// Ownership
//   Each C object has one owner with a deinit: VideoReader (format, decoder, packet, frame),
//   FrameConverter (SwsContext), FrameEncoder (encoder, frame, packet, SwsContext), PacketDecoder,
//   VideoWriter (muxer and its AVIOContext).
//
// Limits
//   VideoLimits: at most 16384 pixels a side and 8192 x 8192 pixels a frame; larger headers are
//   refused as bad input before anything is allocated.
