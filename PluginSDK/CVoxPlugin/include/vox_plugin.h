/*
 * vox_plugin.h — the voxd plugin ABI, version 1.2.
 *
 * History: 1.0 — entry, descriptor, vtable, services (log, metrics, clock,
 * secrets, operation reporting, outbound HTTP, timers). 1.1 — outbound
 * WebSocket (ws_* at the end of vox_host_api). 1.2 — run_soon, to run a
 * plugin's asynchronous work on the host's threads.
 *
 * This header is the whole contract between voxd (the host) and a provider
 * plugin (a shared object loaded with dlopen). A plugin written in C needs
 * nothing else; Swift plugins use VoxPluginKit, which implements this ABI.
 *
 * ------------------------------------------------------------------------
 * NAMES
 *   vox_type_*    plain data types that cross the boundary.
 *   vox_plugin_*  what the plugin exports: the entry point, its descriptor
 *                 and its vtable (functions the HOST calls).
 *   vox_host_*    what the host provides: the services table (functions the
 *                 PLUGIN calls) and the opaque handles those functions take.
 *
 * VERSIONING
 *   VOX_ABI_MAJOR changes only when an existing field, function or meaning
 *   changes; the host refuses a plugin whose major differs from its own.
 *   VOX_ABI_MINOR grows when fields or functions are APPENDED to a struct.
 *   The host refuses a plugin whose minor is newer than its own. Every struct
 *   that crosses the boundary begins with `uint32_t struct_size` set by the
 *   side that fills it; a reader touches a field only if struct_size covers
 *   it (use VOX_HAS_FIELD). Fields are never inserted, reordered or removed.
 *   Sizes: structs the host passes may be LARGER than the plugin's header
 *   knows (a newer host): read the prefix you know. The descriptor and the
 *   vtable a plugin returns must not be larger than the host's (they cannot
 *   be, when the plugin's minor is not newer); the host refuses them.
 *   Every slot of vox_host_api up to the host's minor is non-NULL.
 *
 * DATA
 *   Control data (settings, requests, capabilities, discovery results,
 *   events) crosses as UTF-8 JSON in a vox_type_str (pointer + length, not
 *   necessarily NUL-terminated). Audio crosses as bytes plus a
 *   vox_type_audio_format. The JSON shapes are documented next to each use
 *   and in PluginSDK/SCHEMAS.md.
 *
 * MEMORY — whoever allocates frees.
 *   - A pointer passed INTO a function or callback is valid only until that
 *     call returns; copy what you need to keep.
 *   - The descriptor, the vtable and the strings in the descriptor are owned
 *     by the plugin and must live as long as the image (static storage).
 *   - The capabilities string is owned by the instance and stays valid until
 *     destroy() returns.
 *   - Handles (vox_plugin_op, vox_host_http, vox_host_timer, vox_host_ws) are released
 *     exactly once with their release function, as documented below.
 *
 * THREADS
 *   Every function in both tables is thread-safe and may be called from any
 *   thread. Callbacks may arrive on any thread, including (for operations)
 *   before op_start has returned. No function may block its caller for
 *   longer than a short, bounded piece of work: long work runs on the
 *   plugin's own threads or on the host's asynchronous services (HTTP,
 *   timers). A plugin must not install signal handlers, change the locale or
 *   the environment, or do work in library constructors: init happens in
 *   vox_plugin_entry and create.
 *
 * LOADING
 *   The host opens the library with RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE
 *   and never unmaps it; a changed library is loaded from a new path (the
 *   host copies it to a content-addressed file). Give your C symbols hidden
 *   visibility except the entry point.
 * ------------------------------------------------------------------------
 */
#ifndef VOX_PLUGIN_H
#define VOX_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VOX_ABI_MAJOR 1
#define VOX_ABI_MINOR 2

/* The one symbol a plugin exports (see vox_plugin_entry_fn). */
#define VOX_PLUGIN_ENTRY_SYMBOL "vox_plugin_entry"

/* True when a struct filled by the other side is large enough to hold FIELD. */
#define VOX_HAS_FIELD(ptr, type, field) \
    ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

#if defined(__GNUC__) || defined(__clang__)
#define VOX_EXPORT __attribute__((visibility("default")))
#else
#define VOX_EXPORT
#endif

/* ======================================================================== */
/* Types                                                                    */
/* ======================================================================== */

/* A UTF-8 string or byte run: `len` bytes at `ptr`, no terminator implied.
 * An empty string is {NULL or any pointer, 0}. Ownership: see MEMORY. */
typedef struct vox_type_str {
    const char *ptr;
    size_t len;
} vox_type_str;

/* The closed set of error codes. The router acts on these, never on text. */
typedef enum vox_type_error_code {
    VOX_OK = 0,
    VOX_ERR_INVALID_REQUEST = 1, /* the request is malformed or unsupported as given */
    VOX_ERR_UNAUTHENTICATED = 2, /* missing or wrong credentials (provider 401)      */
    VOX_ERR_FORBIDDEN = 3,       /* credentials lack permission (provider 403)        */
    VOX_ERR_NOT_FOUND = 4,       /* unknown model, voice or resource                  */
    VOX_ERR_RATE_LIMITED = 5,    /* quota or rate limit (provider 429)                */
    VOX_ERR_UNAVAILABLE = 6,     /* provider down, 5xx, connection failure            */
    VOX_ERR_TIMEOUT = 7,         /* a deadline passed                                 */
    VOX_ERR_UNSUPPORTED = 8,     /* the plugin does not implement this               */
    VOX_ERR_CANCELLED = 9,       /* the operation was cancelled                       */
    VOX_ERR_INTERNAL = 10        /* a bug or an unexpected state in the plugin        */
} vox_type_error_code;

/* vox_type_error.flags */
#define VOX_ERROR_RETRIABLE 0x1u /* the same request may succeed elsewhere or later */

#define VOX_ERROR_MESSAGE_CAP 512

/* An error. Always caller-owned: the side that REPORTS an error fills a
 * struct it owns and passes a pointer for the duration of one call; a side
 * that RECEIVES an error out-parameter gets a zeroed struct whose
 * struct_size the caller has set, and fills it in place.
 * `message` is NUL-terminated UTF-8, truncated to fit; keep the provider's
 * own message when there is one, and never put secrets in it. */
typedef struct vox_type_error {
    uint32_t struct_size;   /* sizeof(vox_type_error) of the filler's header   */
    int32_t code;           /* vox_type_error_code                             */
    int32_t http_status;    /* the provider's HTTP status, 0 if none           */
    int32_t retry_after_ms; /* the provider's retry-after hint, -1 if none     */
    uint32_t flags;         /* VOX_ERROR_*                                     */
    char message[VOX_ERROR_MESSAGE_CAP];
} vox_type_error;

/* Audio encodings. Containers (wav, mp3, ogg/opus…) carry their own rate and
 * channel count; the format struct then states what is inside, or 0. */
typedef enum vox_type_audio_encoding {
    VOX_AUDIO_UNKNOWN = 0,
    VOX_AUDIO_PCM_S16LE = 1, /* raw signed 16-bit little-endian, interleaved */
    VOX_AUDIO_PCM_F32LE = 2, /* raw 32-bit float little-endian, interleaved  */
    VOX_AUDIO_WAV = 3,
    VOX_AUDIO_MP3 = 4,
    VOX_AUDIO_OPUS = 5,      /* Ogg Opus */
    VOX_AUDIO_MULAW = 6,     /* raw G.711 mu-law */
    VOX_AUDIO_ALAW = 7,      /* raw G.711 A-law */
    VOX_AUDIO_FLAC = 8,
    VOX_AUDIO_AAC = 9,
    VOX_AUDIO_WEBM = 10
} vox_type_audio_encoding;

typedef struct vox_type_audio_format {
    uint32_t struct_size;
    uint32_t encoding;    /* vox_type_audio_encoding */
    uint32_t sample_rate; /* Hz; 0 = carried by the container / unknown */
    uint32_t channels;    /* 0 = carried by the container / unknown */
} vox_type_audio_format;

/* What an operation does. The JSON request and event shapes for each kind
 * are documented in PluginSDK/SCHEMAS.md. */
typedef enum vox_type_op_kind {
    VOX_OP_TTS_SYNTHESIZE = 1, /* text in (JSON) -> audio chunks out                  */
    VOX_OP_STT_TRANSCRIBE = 2, /* a whole audio file in -> one "transcript" event     */
    VOX_OP_STT_STREAM = 3,     /* audio pushed with op_push -> partial/final events   */
    VOX_OP_LLM_CHAT = 4,       /* messages in -> "delta"/"tool_call" events           */
    VOX_OP_REALTIME = 5,       /* reserved for a later minor version (duplex voice)   */
    VOX_OP_LIST_MODELS = 16,   /* discovery -> one "models" event                     */
    VOX_OP_LIST_VOICES = 17,   /* discovery -> one "voices" event                     */
    VOX_OP_CLONE_VOICE = 18    /* reference audio in -> one "voice" event             */
} vox_type_op_kind;

/* Returned by the host's data callbacks: flow control. */
typedef enum vox_type_flow {
    VOX_FLOW_CONTINUE = 0, /* keep producing */
    VOX_FLOW_PAUSE = 1,    /* the consumer is behind: produce nothing more for this
                              operation (HTTP stream) until the host calls op_resume
                              (http_resume is the plugin's side of the same deal) */
    VOX_FLOW_STOP = 2      /* the operation is finished or cancelled: stop, then
                              make your final call (op_error with
                              VOX_ERR_CANCELLED) */
} vox_type_flow;

/* Log levels for vox_host_api.log. */
typedef enum vox_type_log_level {
    VOX_LOG_TRACE = 0,
    VOX_LOG_DEBUG = 1,
    VOX_LOG_INFO = 2,
    VOX_LOG_WARNING = 3,
    VOX_LOG_ERROR = 4
} vox_type_log_level;

/* Metric kinds for vox_host_api.metric. */
typedef enum vox_type_metric_kind {
    VOX_METRIC_COUNTER = 0,  /* add value (>= 0) */
    VOX_METRIC_GAUGE = 1,    /* set value */
    VOX_METRIC_HISTOGRAM = 2 /* observe value (seconds for durations) */
} vox_type_metric_kind;

/* Opaque handles. */
typedef struct vox_plugin_instance vox_plugin_instance; /* plugin-owned: one configured provider */
typedef struct vox_plugin_op vox_plugin_op;             /* plugin-owned: one running operation   */
typedef struct vox_host_plugin vox_host_plugin;         /* host-owned: the host's view of an instance */
typedef struct vox_host_op vox_host_op;                 /* host-owned: where an operation reports     */
typedef struct vox_host_http vox_host_http;             /* host-owned: one outbound HTTP exchange     */
typedef struct vox_host_timer vox_host_timer;           /* host-owned: one timer                      */
typedef struct vox_host_ws vox_host_ws;                 /* host-owned: one outbound WebSocket (1.1)   */

/* ======================================================================== */
/* Host services: functions the PLUGIN calls                               */
/* ======================================================================== */

/* An outbound HTTP request (see http_start). */
#define VOX_HTTP_STREAM_BODY 0x1u /* body comes later through http_write/http_finish */

typedef struct vox_type_http_request {
    uint32_t struct_size;
    uint32_t flags;             /* VOX_HTTP_*                                    */
    vox_type_str method;        /* "GET", "POST", …                              */
    vox_type_str url;           /* absolute http:// or https:// URL              */
    const vox_type_str *headers;/* 2 * header_count strings: name, value, name…  */
    size_t header_count;
    vox_type_str body;          /* whole body; ignored with VOX_HTTP_STREAM_BODY */
    uint32_t connect_timeout_ms;     /* 0 = host default (voxd: 10 s)            */
    uint32_t first_byte_timeout_ms;  /* until response head; 0 = default (60 s)  */
    uint32_t idle_timeout_ms;        /* between body chunks; 0 = default (60 s);
                                        not counted while the plugin has paused  */
    uint32_t total_timeout_ms;       /* whole exchange; 0 = none                 */
} vox_type_http_request;

/* Callbacks for one HTTP exchange. All receive the `user` pointer given to
 * http_start. Buffers are valid only during the call. Order: on_response at
 * most once, then on_body zero or more times, then on_complete EXACTLY once
 * (also after http_cancel, with VOX_ERR_CANCELLED). */
typedef struct vox_type_http_callbacks {
    uint32_t struct_size;
    /* Response head. headers: 2 * header_count strings (name, value, …). */
    void (*on_response)(void *user, int32_t status, const vox_type_str *headers, size_t header_count);
    /* A piece of the response body. Return VOX_FLOW_PAUSE to stop the flow
     * until http_resume; VOX_FLOW_STOP to abandon the body (then on_complete
     * follows with VOX_ERR_CANCELLED). */
    int32_t (*on_body)(void *user, const uint8_t *data, size_t len);
    /* The end: error is NULL on success (the whole body was received). The
     * transport's errors map to UNAVAILABLE (connection), TIMEOUT, CANCELLED.
     * A non-2xx status is NOT an error here: the plugin sees the status in
     * on_response and maps it itself. */
    void (*on_complete)(void *user, const vox_type_error *error);
} vox_type_http_callbacks;

/* An outbound WebSocket (see ws_connect; since 1.1). */
typedef struct vox_type_ws_request {
    uint32_t struct_size;
    vox_type_str url;             /* ws:// or wss:// (http(s):// means the same) */
    const vox_type_str *headers;  /* 2 * header_count strings sent with the
                                     upgrade request (auth…)                     */
    size_t header_count;
    uint32_t connect_timeout_ms;  /* until the upgrade completes; 0 = 10 s      */
    uint32_t idle_timeout_ms;     /* no message from the server for this long
                                     closes with VOX_ERR_TIMEOUT; 0 = never.
                                     Not counted while delivery is paused.     */
    uint32_t max_message_bytes;   /* larger incoming messages close the socket
                                     (1009) with UNAVAILABLE; 0 = 16 MiB        */
} vox_type_ws_request;

/* Callbacks for one WebSocket. All receive the `user` pointer given to
 * ws_connect; buffers are valid only during the call. */
typedef struct vox_type_ws_callbacks {
    uint32_t struct_size;
    /* The upgrade succeeded; queued messages are going out. */
    void (*on_open)(void *user);
    /* One whole message. Return VOX_FLOW_PAUSE to stop delivery until
     * ws_resume (the host stops reading the socket meanwhile), VOX_FLOW_STOP
     * to drop the connection (on_close follows with VOX_ERR_CANCELLED). */
    int32_t (*on_message)(void *user, int32_t is_text, const uint8_t *data, size_t len);
    /* After a ws_send returned PAUSE: the queue has drained below 256 KiB. */
    void (*on_writable)(void *user);
    /* The end. error NULL: a close handshake happened (either side began
     * it); code and reason are the server's close frame (1005 = none given).
     * error set: the upgrade was refused (code mapped from the HTTP status,
     * which is in error->http_status, with the server's reason in the
     * message; 401 → UNAUTHENTICATED, 429 → RATE_LIMITED + retry-after…),
     * the connection failed or dropped without a close frame (UNAVAILABLE),
     * a timeout fired (TIMEOUT), or ws_cancel / VOX_FLOW_STOP (CANCELLED);
     * code is then 1006. */
    void (*on_close)(void *user, int32_t code, vox_type_str reason, const vox_type_error *error);
} vox_type_ws_callbacks;

/* The table the host hands to vox_plugin_entry. Valid for the life of the
 * process. Check VOX_HAS_FIELD before using a slot added after 1.0. */
typedef struct vox_host_api {
    uint32_t struct_size;
    uint32_t abi_major; /* the host's VOX_ABI_MAJOR */
    uint32_t abi_minor; /* the host's VOX_ABI_MINOR */

    /* --- logging, metrics, clock, secrets ------------------------------ */

    /* Writes one log record, tagged with the instance's name. */
    void (*log)(vox_host_plugin *hp, int32_t level, vox_type_str message);
    /* Records a metric sample, labelled with the instance. name: [a-z0-9_]+. */
    void (*metric)(vox_host_plugin *hp, int32_t kind, vox_type_str name, double value);
    /* Monotonic clock, nanoseconds. */
    uint64_t (*clock_ns)(void);
    /* Looks up the secret the admin bound to `name` in this plugin's config
     * ([secrets] name = "env:VAR" | "file:/path"). Copies up to `cap` bytes
     * into buf and returns the full length, or returns -1 with *error filled
     * (NOT_FOUND: no such binding; UNAVAILABLE: the reference did not
     * resolve). The host verifies every binding before create(). */
    int64_t (*secret_get)(vox_host_plugin *hp, vox_type_str name, char *buf, size_t cap, vox_type_error *error);

    /* --- operation reporting (see vox_plugin_vtable.op_start) ----------- */

    /* One chunk of audio: a meaningful unit (20–100 ms, or what the provider
     * sent), not single bytes. Returns a vox_type_flow. */
    int32_t (*op_audio)(vox_host_op *op, const vox_type_audio_format *format, const uint8_t *data, size_t len);
    /* One JSON event (a text delta, a partial transcript, a discovery
     * result…). Returns a vox_type_flow. */
    int32_t (*op_event)(vox_host_op *op, vox_type_str json);
    /* FINAL: success. result_json is an object (e.g. {"usage":{…}}) or empty. */
    void (*op_done)(vox_host_op *op, vox_type_str result_json);
    /* FINAL: failure. */
    void (*op_error)(vox_host_op *op, const vox_type_error *error);

    /* --- outbound HTTP --------------------------------------------------- */

    /* Starts an exchange; returns NULL with *error filled if it cannot start
     * (then no callback comes). The host owns pooling, TLS, proxies and
     * timeouts. The returned handle stays valid until http_release. */
    vox_host_http *(*http_start)(vox_host_plugin *hp, const vox_type_http_request *request,
                                 const vox_type_http_callbacks *callbacks, void *user,
                                 vox_type_error *error);
    /* Streamed request body (VOX_HTTP_STREAM_BODY): append bytes; returns a
     * vox_type_flow (PAUSE: wait a little; nothing is lost). */
    int32_t (*http_write)(vox_host_http *http, const uint8_t *data, size_t len);
    /* Streamed request body: no more bytes. */
    void (*http_finish)(vox_host_http *http);
    /* Resumes a body paused by on_body returning VOX_FLOW_PAUSE. */
    void (*http_resume)(vox_host_http *http);
    /* Closes the connection; on_complete follows with VOX_ERR_CANCELLED
     * unless it already ran. */
    void (*http_cancel)(vox_host_http *http);
    /* Releases the handle: exactly once, after on_complete has run (call it
     * from on_complete if you like). */
    void (*http_release)(vox_host_http *http);

    /* --- timers ---------------------------------------------------------- */

    /* Calls fire(user) once, on a host thread, after delay_ns. */
    vox_host_timer *(*timer_start)(vox_host_plugin *hp, uint64_t delay_ns, void (*fire)(void *user), void *user);
    /* Cancels the timer if it has not fired, and releases the handle:
     * exactly once per timer, fired or not. When it returns, fire will not
     * start; if fire is running on another thread, it waits for fire to
     * return (keep fire short). It may be called from inside fire itself. */
    void (*timer_release)(vox_host_timer *timer);

    /* --- outbound WebSocket (since 1.1: check VOX_HAS_FIELD(api, ws_release))
     *
     * One client connection (RFC 6455) per ws_connect, on the host's event
     * loops: ws:// and wss:// (TLS by the host), proxies from the environment
     * like HTTP, ping/pong and the close handshake handled by the host. The
     * plugin sees whole messages (fragments joined), text or binary.
     *
     * Callback order: on_open at most once, then on_message zero or more
     * times, then on_close EXACTLY once — also when the upgrade is refused,
     * the connection drops, a timeout fires or ws_cancel is called. The
     * handle stays valid until ws_release, which the plugin calls exactly
     * once, after on_close has run (it may call it from inside on_close). */
    vox_host_ws *(*ws_connect)(vox_host_plugin *hp, const vox_type_ws_request *request,
                               const vox_type_ws_callbacks *callbacks, void *user,
                               vox_type_error *error);
    /* Queues one message (copied; is_text: 1 = text frame, which must be
     * UTF-8, 0 = binary). Messages go out in order. Returns CONTINUE;
     * PAUSE when more than 1 MiB waits to be written (the message is still
     * queued: stop sending until on_writable); STOP when the socket is
     * closing or closed (the message is dropped). Before on_open, messages
     * wait and go out right after the upgrade. */
    int32_t (*ws_send)(vox_host_ws *ws, int32_t is_text, const uint8_t *data, size_t len);
    /* Starts the close handshake after the queued messages: sends a close
     * frame with code (1000 = normal) and reason (at most 123 bytes), waits
     * up to 5 s for the server's; on_close follows. */
    void (*ws_close)(vox_host_ws *ws, int32_t code, vox_type_str reason);
    /* Resumes delivery paused by on_message returning VOX_FLOW_PAUSE. */
    void (*ws_resume)(vox_host_ws *ws);
    /* Drops the connection without a handshake; on_close follows with
     * VOX_ERR_CANCELLED unless it already ran. */
    void (*ws_cancel)(vox_host_ws *ws);
    /* Releases the handle: exactly once, after on_close. */
    void (*ws_release)(vox_host_ws *ws);

    /* --- running work on the host's threads (since 1.2: check
     * VOX_HAS_FIELD(api, run_soon))
     *
     * Queues fn(user) to run exactly once, soon, never inside this call.
     * Called on one of the host's event-loop threads (inside op_start, or in
     * an HTTP, WebSocket or operation callback), fn runs later on that same
     * thread, in order with the host's other work there; called from any
     * other thread, fn runs on one of the host's event-loop threads. The
     * host's answers to the work (HTTP and WebSocket callbacks for requests
     * started there) come back to that thread too, so an asynchronous
     * runtime whose executor is built on run_soon serves a request without
     * handing it between threads (VoxPluginKit's operations do this). fn
     * shares the thread with the host's I/O: it must not block, and long
     * computations belong on the plugin's own threads. */
    void (*run_soon)(void (*fn)(void *user), void *user);
} vox_host_api;

/* ======================================================================== */
/* The plugin: functions the HOST calls                                     */
/* ======================================================================== */

/* What op_start receives. */
typedef struct vox_type_op_request {
    uint32_t struct_size;
    uint32_t kind;             /* vox_type_op_kind                                */
    vox_type_str request_json; /* the request object for `kind` (SCHEMAS.md)      */
    /* Input audio for STT_TRANSCRIBE and CLONE_VOICE (the whole file), else
     * empty. Valid only during op_start: copy it if you keep it. */
    vox_type_audio_format input_format;
    const uint8_t *input_audio;
    size_t input_audio_len;
} vox_type_op_request;

typedef struct vox_plugin_vtable {
    uint32_t struct_size;

    /* REQUIRED. Creates an instance from the admin's settings (a JSON
     * object). `hp` identifies it in host calls; keep it. On failure return
     * a vox_type_error_code with *error filled and *out untouched. */
    int32_t (*create)(vox_host_plugin *hp, vox_type_str settings_json,
                      vox_plugin_instance **out, vox_type_error *error);

    /* REQUIRED. Destroys an instance. The host calls it once, after every
     * operation of the instance was released; nothing of the instance may
     * run afterwards (cancel timers and HTTP exchanges first). */
    void (*destroy)(vox_plugin_instance *instance);

    /* REQUIRED. The instance's capabilities as a JSON object (SCHEMAS.md),
     * owned by the instance and valid until destroy. */
    vox_type_str (*capabilities)(vox_plugin_instance *instance);

    /* REQUIRED. Starts an operation. On success returns VOX_OK with *out set
     * and later reports through the host's op_* functions on `op`:
     * op_audio/op_event any number of times, then EXACTLY ONE of op_done or
     * op_error — also after op_cancel (then usually VOX_ERR_CANCELLED).
     * After that final call the plugin does not touch `op` again.
     * On failure returns an error code with *error filled; then no op_*
     * call comes and *out is untouched. Do not block: start the work and
     * return. */
    int32_t (*op_start)(vox_plugin_instance *instance, const vox_type_op_request *request,
                        vox_host_op *op, vox_plugin_op **out, vox_type_error *error);

    /* REQUIRED. Asks the operation to stop soon. Idempotent; may race with
     * the final callback. */
    void (*op_cancel)(vox_plugin_op *op);

    /* REQUIRED. The host is done with the handle: called exactly once, after
     * the final callback has returned to the host. Never from inside that
     * callback, and never from a thread the plugin created, but possibly
     * while the plugin's thread is still unwinding from its final call: if
     * that thread touches the operation afterwards, join it (or otherwise
     * synchronise) here, then free the operation. After op_release the host
     * makes no other call with this handle (no op_cancel, op_resume, op_push). */
    void (*op_release)(vox_plugin_op *op);

    /* OPTIONAL (NULL if the plugin never honours VOX_FLOW_PAUSE; the host then
     * fails operations that overrun 8x its buffer limit).
     * Resumes an operation paused by a data callback's VOX_FLOW_PAUSE. It may
     * arrive on another thread BEFORE the op_audio/op_event call that returned
     * PAUSE has returned, and resumes may be spurious: count resumes (or keep
     * a "resume pending" flag set under your lock) rather than setting
     * "paused" after the call returns, or you may sleep forever. */
    void (*op_resume)(vox_plugin_op *op);

    /* REQUIRED if capabilities declare "stt.stream". Appends input audio to
     * a streaming operation; data valid only during the call. Returns VOX_OK,
     * or an error code (e.g. the operation already ended). */
    int32_t (*op_push)(vox_plugin_op *op, const vox_type_audio_format *format,
                       const uint8_t *data, size_t len);
    /* REQUIRED with op_push. No more input: produce the final results. */
    int32_t (*op_finish_input)(vox_plugin_op *op);
} vox_plugin_vtable;

/* The descriptor vox_plugin_entry returns. Static storage. */
typedef struct vox_plugin_descriptor {
    uint32_t struct_size; /* sizeof(vox_plugin_descriptor) as compiled */
    uint32_t abi_major;   /* VOX_ABI_MAJOR as compiled */
    uint32_t abi_minor;   /* VOX_ABI_MINOR as compiled */
    const char *name;     /* [a-z0-9_-]{1,64}: matches the plugins.d file name */
    const char *version;  /* the plugin's own version, e.g. "1.2.0" */
    const char *vendor;   /* who ships it */
    const char *description; /* one line, may be NULL */
    /* For plugins that share the host's Swift runtime (libswiftCore.so): the
     * toolchain they were built with, as VoxPluginKit reports it. The host
     * refuses a plugin whose string differs from its own, because Swift has
     * no stable ABI on Linux. NULL for C plugins and Swift plugins built
     * with -static-stdlib. */
    const char *swift_runtime;
    const vox_plugin_vtable *vtable;
} vox_plugin_descriptor;

/* The entry point. The host calls it once per loaded image, from one
 * thread, before anything else, with its ABI version and its services
 * table (valid for the life of the process: keep the pointer). Return the
 * descriptor, or NULL with *error filled (e.g. the host is too old).
 * Do nothing slow here. */
typedef const vox_plugin_descriptor *(*vox_plugin_entry_fn)(uint32_t host_abi_major, uint32_t host_abi_minor,
                                                            const vox_host_api *host, vox_type_error *error);

/* Declare your entry point with this, e.g.
 *   VOX_EXPORT const vox_plugin_descriptor *
 *   vox_plugin_entry(uint32_t major, uint32_t minor, const vox_host_api *host, vox_type_error *error);
 */
VOX_EXPORT const vox_plugin_descriptor *vox_plugin_entry(uint32_t host_abi_major, uint32_t host_abi_minor,
                                                         const vox_host_api *host, vox_type_error *error);

/* ======================================================================== */
/* Helpers (header-only, no link dependency)                                */
/* ======================================================================== */

/* A vox_type_str over a NUL-terminated C string. */
static inline vox_type_str vox_str(const char *s) {
    vox_type_str r;
    size_t n = 0;
    if (s) { while (s[n]) n++; }
    r.ptr = s;
    r.len = n;
    return r;
}

/* Fills an error in place: code, flags, status, retry hint, message. */
static inline void vox_error_set(vox_type_error *e, int32_t code, uint32_t flags, int32_t http_status,
                                 int32_t retry_after_ms, const char *message) {
    size_t i = 0;
    if (!e) return;
    e->struct_size = (uint32_t)sizeof(vox_type_error);
    e->code = code;
    e->flags = flags;
    e->http_status = http_status;
    e->retry_after_ms = retry_after_ms;
    if (message) {
        for (; message[i] && i + 1 < VOX_ERROR_MESSAGE_CAP; i++) e->message[i] = message[i];
    }
    e->message[i] = 0;
}

#ifdef __cplusplus
}
#endif

#endif /* VOX_PLUGIN_H */
