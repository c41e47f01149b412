// CFFmpeg: the one place C from FFmpeg enters Glassbox (imported only by VideoIO).
//
// Swift imports functions, structs, enums and plain integer macros from these headers, but not
// function-like or cast macros (AVERROR(e), AVERROR_EOF, AV_NOPTS_VALUE, ...). Those are exposed
// below as `static inline` functions with a `gb_` prefix. Helpers whose C API differs between
// FFmpeg versions (stream side data) also live here, so Swift sees one signature.
#ifndef GLASSBOX_CFFMPEG_SHIM_H
#define GLASSBOX_CFFMPEG_SHIM_H

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stddef.h>

#include <libavformat/avformat.h>
#include <libavformat/avio.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/display.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libavutil/rational.h>
#include <libswscale/swscale.h>

// MARK: - Error codes

/// AVERROR(e): a negative FFmpeg error code from a POSIX errno value.
static inline int gb_averror(int posix_errno) { return AVERROR(posix_errno); }
/// AVUNERROR(e): the POSIX errno value back from a negative FFmpeg code.
static inline int gb_avunerror(int code) { return AVUNERROR(code); }
static inline int gb_averror_eof(void) { return AVERROR_EOF; }
static inline int gb_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int gb_averror_enomem(void) { return AVERROR(ENOMEM); }
static inline int gb_averror_einval(void) { return AVERROR(EINVAL); }
static inline int gb_averror_enoent(void) { return AVERROR(ENOENT); }
static inline int gb_averror_eisdir(void) { return AVERROR(EISDIR); }
static inline int gb_averror_eacces(void) { return AVERROR(EACCES); }
static inline int gb_averror_eio(void) { return AVERROR(EIO); }
static inline int gb_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int gb_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
static inline int gb_averror_encoder_not_found(void) { return AVERROR_ENCODER_NOT_FOUND; }
static inline int gb_averror_demuxer_not_found(void) { return AVERROR_DEMUXER_NOT_FOUND; }
static inline int gb_averror_muxer_not_found(void) { return AVERROR_MUXER_NOT_FOUND; }
static inline int gb_averror_stream_not_found(void) { return AVERROR_STREAM_NOT_FOUND; }
static inline int gb_averror_option_not_found(void) { return AVERROR_OPTION_NOT_FOUND; }
static inline int gb_averror_patchwelcome(void) { return AVERROR_PATCHWELCOME; }
static inline int gb_averror_bug(void) { return AVERROR_BUG; }
static inline int gb_averror_unknown(void) { return AVERROR_UNKNOWN; }
static inline int gb_averror_experimental(void) { return AVERROR_EXPERIMENTAL; }
static inline int gb_averror_external(void) { return AVERROR_EXTERNAL; }
static inline int gb_averror_exit(void) { return AVERROR_EXIT; }

// MARK: - Timestamps

/// AV_NOPTS_VALUE: "no timestamp" (INT64_MIN).
static inline int64_t gb_av_nopts_value(void) { return AV_NOPTS_VALUE; }
/// AV_TIME_BASE: the internal time base of durations in AVFormatContext (microseconds).
static inline int gb_av_time_base(void) { return AV_TIME_BASE; }
/// AV_TIME_BASE_Q as a rational.
static inline AVRational gb_av_time_base_q(void) { AVRational q = {1, AV_TIME_BASE}; return q; }

// MARK: - Flags that are expressions rather than plain literals

static inline int gb_av_codec_flag_global_header(void) { return AV_CODEC_FLAG_GLOBAL_HEADER; }
static inline int gb_av_codec_flag_qscale(void) { return AV_CODEC_FLAG_QSCALE; }
static inline int gb_avfmt_globalheader(void) { return AVFMT_GLOBALHEADER; }
static inline int gb_avfmt_nofile(void) { return AVFMT_NOFILE; }
static inline int gb_avio_flag_write(void) { return AVIO_FLAG_WRITE; }
static inline int gb_avseek_flag_backward(void) { return AVSEEK_FLAG_BACKWARD; }
static inline int gb_ff_thread_frame(void) { return FF_THREAD_FRAME; }
static inline int gb_ff_thread_slice(void) { return FF_THREAD_SLICE; }
static inline int gb_ff_qp2lambda(void) { return FF_QP2LAMBDA; }
static inline int gb_sws_bilinear(void) { return SWS_BILINEAR; }
static inline int gb_sws_bicubic(void) { return SWS_BICUBIC; }
static inline int gb_sws_point(void) { return SWS_POINT; }
static inline int gb_sws_accurate_rnd(void) { return SWS_ACCURATE_RND; }
static inline int gb_sws_full_chr_h_int(void) { return SWS_FULL_CHR_H_INT; }
static inline int gb_av_error_max_string_size(void) { return AV_ERROR_MAX_STRING_SIZE; }
static inline int gb_av_log_quiet(void) { return AV_LOG_QUIET; }
static inline int gb_av_log_error(void) { return AV_LOG_ERROR; }
static inline int gb_av_log_warning(void) { return AV_LOG_WARNING; }
static inline int gb_av_log_info(void) { return AV_LOG_INFO; }
static inline int gb_av_log_verbose(void) { return AV_LOG_VERBOSE; }
static inline int gb_av_log_debug(void) { return AV_LOG_DEBUG; }

// MARK: - Version-portable helpers

/// The display-matrix rotation of a video stream in degrees, counter-clockwise, as
/// `av_display_rotation_get` reports it (range [-180, 180]); NAN when the stream has no display
/// matrix. FFmpeg >= 6.1 keeps side data in `codecpar->coded_side_data`; older versions in the
/// stream (`av_stream_get_side_data`).
static inline double gb_stream_display_rotation(const AVStream *stream) {
    if (!stream) return NAN;
#if LIBAVFORMAT_VERSION_MAJOR > 60 || (LIBAVFORMAT_VERSION_MAJOR == 60 && LIBAVFORMAT_VERSION_MINOR >= 15)
    const AVPacketSideData *sd = av_packet_side_data_get(stream->codecpar->coded_side_data,
                                                         stream->codecpar->nb_coded_side_data,
                                                         AV_PKT_DATA_DISPLAYMATRIX);
    if (!sd || sd->size < 9 * sizeof(int32_t)) return NAN;
    return av_display_rotation_get((const int32_t *)sd->data);
#else
    size_t size = 0;
    const uint8_t *data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
    if (!data || size < 9 * sizeof(int32_t)) return NAN;
    return av_display_rotation_get((const int32_t *)data);
#endif
}

/// Sets codec threading: `count` threads (0 = automatic) for frame and slice threading.
static inline void gb_codec_set_threads(AVCodecContext *ctx, int count) {
    ctx->thread_count = count;
    ctx->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
}

/// Whether the pixel format's descriptor marks it as a hardware format or with alpha, etc.
static inline uint64_t gb_pix_fmt_flags(enum AVPixelFormat fmt) {
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    return d ? d->flags : 0;
}

// MARK: - Log capture

/// Receives one formatted FFmpeg log message (may be a partial line; lines end with '\n').
typedef void (*gb_log_sink_t)(int level, const char *message);

/// The installed sink (function-local static so that the header defines no global variable).
static inline gb_log_sink_t *gb_log_sink_slot(void) {
    static gb_log_sink_t slot = 0;
    return &slot;
}

/// The av_log callback: formats with av_log_format_line2 (Swift cannot touch a va_list) and
/// forwards the text to the sink.
static inline void gb_log_trampoline(void *avcl, int level, const char *fmt, va_list vl) {
    if (level > av_log_get_level() || !fmt) return;
    char line[1024];
    int print_prefix = 1;
    if (av_log_format_line2(avcl, level, fmt, vl, line, (int)sizeof line, &print_prefix) < 0) return;
    gb_log_sink_t sink = *gb_log_sink_slot();
    if (sink) sink(level, line);
}

/// Routes FFmpeg's log to `sink` instead of standard error.
static inline void gb_install_log_sink(gb_log_sink_t sink) {
    *gb_log_sink_slot() = sink;
    av_log_set_callback(gb_log_trampoline);
}

#endif // GLASSBOX_CFFMPEG_SHIM_H
