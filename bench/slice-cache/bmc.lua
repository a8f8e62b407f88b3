-- wrk script of bench/slice-cache.sh: simulated BMCs, one keep-alive connection each, every BMC with its own MAC
-- path and its own read position, every response checked against the request it answers.
--
-- Run as `wrk -t T -c N` with BMC_THREADS=T and BMC_CONNECTIONS=N (T divides N): each thread owns N/T connections
-- and N/T BMCs (BMC_MACHINES lines thread*N/T+1 ...). wrk's Lua API gives request() and response() no connection
-- identity, so a thread keeps its BMCs in a pool: request() takes an idle BMC and records its pending range;
-- response() finds the pending request its Content-Range names (among this thread's BMCs), checks the response
-- against that BMC's expected bytes, moves the BMC on and makes it idle again. Every connection carries one request
-- at a time, so N connections carry N BMCs, but a BMC's successive requests may use different connections of its
-- thread. With T = N (one thread per connection) the pool holds one BMC and the mapping is fixed; bench/README.md
-- says what that costs the client.
--
-- Loads (BMC_MODE):
--   seq   mostly sequential reads of BMC_PIECE bytes from a random piece-aligned start, wrapping at the end (the
--         next boot), with a jump to a random piece-aligned position once every BMC_JUMP_EVERY requests on average;
--   rand  reads of BMC_PIECE bytes at uniformly random 2 KiB-aligned (CD sector) positions.
-- wrk cannot read a HEAD response (its parser waits for Content-Length bytes of body), so each BMC's HEAD is sent
-- by the calling script, with curl, just before the run.
--
-- Checks of every response: status 206; a Content-Range `bytes first-last/size` that is exactly the range a BMC of
-- this thread is waiting for; body length. Sampled bytes: the first and last 16 bytes of every body, BMC_PROBES
-- more 16-byte probes at random places, and both edges and the middle of every magic-string occurrence the body
-- overlaps, compared with the reference file (mapped once, read-only, for all threads). With BMC_PATCHED=1 (the
-- gateway) bytes inside an occurrence must be the BMC's own kernel parameters, space-padded: BMC_PATCH_TEMPLATE
-- with {mac}, {facility} and {vlan} replaced from the BMC's line of BMC_MACHINES. When two BMCs of a thread wait
-- for the same range, the response must be right for one of them.
--
-- done() prints one `WRK_RESULT key=value ...` line (wrk's latency percentiles, the checks summed over threads)
-- and up to five `WRK_ERROR` lines. With BMC_LATENCY_FILE set it also writes wrk's latency distribution there (a
-- `count <requests>` line, then `<percentile> <microseconds>` lines at 0.1 % steps, 0.01 % above p98), so the
-- calling script can merge the latencies of two wrk processes (the scale-out load, one wrk per gateway) into one
-- set of percentiles.

local ffi = require("ffi")

ffi.cdef [[
int open(const char *pathname, int flags);
int close(int fd);
void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset);
int memcmp(const void *s1, const void *s2, size_t n);
]]

local PROBE = 16
local SECTOR = 2048

local function env(name, default)
    local value = os.getenv(name)
    if value == nil or value == "" then
        if default == nil then
            error("bmc.lua: environment variable " .. name .. " is not set")
        end
        return default
    end
    return value
end

-- Counters: globals, so done() (in wrk's main Lua state) can read each thread's with thread:get().
responses = 0
bad_status = 0
bad_range = 0
bad_length = 0
bad_bytes = 0
reissued = 0
probes = 0
patch_probes = 0
body_bytes = 0
error_sample = ""

local COUNTERS = { "responses", "bad_status", "bad_range", "bad_length", "bad_bytes", "reissued", "probes",
    "patch_probes", "body_bytes" }

-- ---- main state: setup() runs once per thread, before the thread starts ------------------------------------------
-- The reference file is mapped once for the whole process (wrk's threads share one address space) and its address
-- handed to every thread as a number: one set of page tables, filled at the start (MAP_POPULATE).
local threads = {}
local mapped_address = nil -- (thread states get it as the global reference_address)

local function map_reference(size)
    local reference = env("BMC_REFERENCE")
    local fd = ffi.C.open(reference, 0) -- O_RDONLY
    if fd < 0 then
        error("bmc.lua: cannot open " .. reference)
    end
    local mapped = ffi.C.mmap(nil, size, 1, 0x8001, fd, 0) -- PROT_READ, MAP_SHARED | MAP_POPULATE
    ffi.C.close(fd)
    if ffi.cast("intptr_t", mapped) == -1 then
        error("bmc.lua: cannot map " .. reference)
    end
    return tonumber(ffi.cast("uintptr_t", mapped))
end

function setup(thread)
    if mapped_address == nil then
        mapped_address = map_reference(tonumber(env("BMC_SIZE")))
    end
    thread:set("thread_index", #threads)
    thread:set("reference_address", mapped_address)
    threads[#threads + 1] = thread
end

-- ---- thread state ------------------------------------------------------------------------------------------------
local size, piece, mode, extra_probes, jump_every, magic_length, patched
local base -- the reference file, mapped
local occurrences = {}
local pieces, sectors
local bmcs = {} -- this thread's BMCs: mac, path, patch (expected bytes at every occurrence, or nil), pos, pending
local idle = {} -- indices of BMCs with no request pending: a queue from idle_head to idle_tail
local idle_head, idle_tail = 1, 0
local waiting = {} -- "first-last" -> list of pending requests {bmc, first, last, sent, outstanding}
local sent = 0

local function random_piece()
    return math.random(0, pieces - 1) * piece
end

local function next_position(pos)
    if mode == "rand" then
        return math.random(0, sectors) * SECTOR
    end
    pos = pos + piece
    if pos >= size then
        pos = 0
    end
    if jump_every > 0 and math.random(jump_every) == 1 then
        pos = random_piece()
    end
    return pos
end

local function expected_patch(mac, facility, vlan)
    local line = env("BMC_PATCH_TEMPLATE")
    line = line:gsub("{mac}", mac):gsub("{facility}", facility):gsub("{vlan}", vlan)
    if #line > magic_length then
        error("bmc.lua: kernel parameters longer than the magic string: " .. line)
    end
    return line .. string.rep(" ", magic_length - #line)
end

function init(args)
    size = tonumber(env("BMC_SIZE"))
    piece = tonumber(env("BMC_PIECE"))
    mode = env("BMC_MODE")
    if mode ~= "seq" and mode ~= "rand" then
        error("bmc.lua: BMC_MODE must be seq or rand, not " .. mode)
    end
    extra_probes = tonumber(env("BMC_PROBES", "4"))
    jump_every = tonumber(env("BMC_JUMP_EVERY", "64"))
    magic_length = tonumber(env("BMC_MAGIC_LENGTH", "1024"))
    patched = env("BMC_PATCHED", "0") == "1"
    for offset in env("BMC_OCCURRENCES", ""):gmatch("%d+") do
        occurrences[#occurrences + 1] = tonumber(offset)
    end
    pieces = math.floor((size + piece - 1) / piece)
    sectors = math.floor((size - piece) / SECTOR)
    if reference_address == nil then
        error("bmc.lua: setup() gave this thread no reference_address")
    end
    base = ffi.cast("const uint8_t *", reference_address)
    math.randomseed(tonumber(env("BMC_SEED", "1")) * 100003 + thread_index)

    local per_thread = tonumber(env("BMC_CONNECTIONS")) / tonumber(env("BMC_THREADS"))
    if per_thread < 1 or per_thread ~= math.floor(per_thread) then
        error("bmc.lua: BMC_THREADS must divide BMC_CONNECTIONS")
    end
    local from = thread_index * per_thread + 1
    local line_number = 0
    for line in io.lines(env("BMC_MACHINES")) do
        line_number = line_number + 1
        if line_number >= from and line_number < from + per_thread then
            local mac, facility, vlan = line:match("^(%S+) (%S+) (%S+)$")
            if not mac then
                error("bmc.lua: " .. env("BMC_MACHINES") .. ":" .. line_number .. " is not 'mac facility vlan'")
            end
            local bmc = { mac = mac, path = (env("BMC_PATH"):gsub("{mac}", mac)) }
            if patched then
                bmc.patch = expected_patch(mac, facility, vlan)
            end
            bmc.pos = mode == "rand" and next_position(0) or random_piece()
            bmcs[#bmcs + 1] = bmc
            idle_tail = idle_tail + 1
            idle[idle_tail] = #bmcs
        end
    end
    if #bmcs ~= per_thread then
        error("bmc.lua: " .. env("BMC_MACHINES") .. " has too few machines for " .. env("BMC_CONNECTIONS") .. " BMCs")
    end
end

-- request() runs each time one of the thread's connections is ready for its next request. (wrk also calls it once
-- on thread 0 before the run, to count pipelined requests; that request is never sent. Its BMC then looks pending
-- forever, and is asked for again below, as is one whose request was lost with a broken connection.)
function request()
    sent = sent + 1
    local pending
    if idle_head <= idle_tail then
        local index = idle[idle_head]
        idle[idle_head] = nil
        idle_head = idle_head + 1
        local bmc = bmcs[index]
        local first = bmc.pos
        local last = math.min(first + piece, size) - 1
        pending = { bmc = index, first = first, last = last, sent = sent, outstanding = 1 }
        bmc.pending = pending
        local key = first .. "-" .. last
        local list = waiting[key]
        if list == nil then
            waiting[key] = { pending }
        else
            list[#list + 1] = pending
        end
    else
        -- No idle BMC: the one whose request has waited longest was never answered; ask again.
        for _, bmc in ipairs(bmcs) do
            if bmc.pending and (pending == nil or bmc.pending.sent < pending.sent) then
                pending = bmc.pending
            end
        end
        pending.outstanding = pending.outstanding + 1
        pending.sent = sent
        reissued = reissued + 1
    end
    return wrk.format("GET", bmcs[pending.bmc].path, { Range = "bytes=" .. pending.first .. "-" .. pending.last })
end

local function note(message)
    if error_sample == "" then
        error_sample = message
    end
end

-- Checks the 16 bytes of the body at body offset at (file offset first + at); returns nil or the first wrong file
-- offset.
local function probe(ptr, first, at, n, patch)
    local len = PROBE
    if n < len then
        len = n
        at = 0
    elseif at < 0 then
        at = 0
    elseif at > n - len then
        at = n - len
    end
    if len <= 0 then
        return nil
    end
    probes = probes + 1
    local abs = first + at
    if patch then
        for _, o in ipairs(occurrences) do
            if abs < o + magic_length and abs + len > o then
                patch_probes = patch_probes + 1
                for i = 0, len - 1 do
                    local a = abs + i
                    local want
                    if a >= o and a < o + magic_length then
                        want = patch:byte(a - o + 1)
                    else
                        want = base[a]
                    end
                    if ptr[at + i] ~= want then
                        return a
                    end
                end
                return nil
            end
        end
    end
    if ffi.C.memcmp(ptr + at, base + abs, len) ~= 0 then
        for i = 0, len - 1 do
            if ptr[at + i] ~= base[abs + i] then
                return abs + i
            end
        end
    end
    return nil
end

-- The first wrong file offset among the sampled bytes of a body for file offset first, or nil.
local function check_bytes(body, first, patch)
    local n = #body
    local ptr = ffi.cast("const uint8_t *", body)
    local wrong = probe(ptr, first, 0, n, patch) or probe(ptr, first, n - PROBE, n, patch)
    for _ = 1, extra_probes do
        if wrong then
            return wrong
        end
        wrong = probe(ptr, first, math.random(0, math.max(n - PROBE, 0)), n, patch)
    end
    local final = first + n
    for _, o in ipairs(occurrences) do
        if wrong then
            return wrong
        end
        local stop = o + magic_length
        if stop > first and o < final then
            -- Where the occurrence starts and ends (probes straddling both edges) and its middle, as far as this body
            -- holds them.
            wrong = probe(ptr, first, o - first - PROBE / 2, n, patch)
                or probe(ptr, first, stop - first - PROBE / 2, n, patch)
                or probe(ptr, first, math.floor((o + stop) / 2) - first, n, patch)
        end
    end
    return wrong
end

-- One answer to pending request p has arrived: the BMC moves on if p is still its pending request.
local function answered(p, key)
    p.outstanding = p.outstanding - 1
    if p.outstanding <= 0 then
        local list = waiting[key]
        for i = #list, 1, -1 do
            if list[i] == p then
                table.remove(list, i)
            end
        end
        if #list == 0 then
            waiting[key] = nil
        end
    end
    local bmc = bmcs[p.bmc]
    if bmc.pending == p then
        bmc.pending = nil
        bmc.pos = next_position(p.first)
        idle_tail = idle_tail + 1
        idle[idle_tail] = p.bmc
    end
end

function response(status, headers, body)
    responses = responses + 1
    local n = #body
    body_bytes = body_bytes + n
    local range = headers["Content-Range"] or headers["content-range"]
    local a, b, total = (range or ""):match("^bytes (%d+)%-(%d+)/(%d+)$")
    local key = a and (a .. "-" .. b) or ""
    if status ~= 206 then
        bad_status = bad_status + 1
        note("status " .. status .. (range and (", Content-Range " .. range) or ""))
        return
    end
    local list = waiting[key]
    if list == nil or tonumber(total) ~= size then
        bad_range = bad_range + 1
        note("Content-Range " .. tostring(range) .. " answers no pending request")
        return
    end
    local first = tonumber(a)
    local where = "bytes=" .. key .. " of " .. bmcs[list[1].bmc].mac
    if n ~= tonumber(b) - first + 1 then
        bad_length = bad_length + 1
        note(where .. ": body of " .. n .. " bytes")
        answered(list[1], key)
        return
    end
    -- The answer is right if it is right for one of the BMCs waiting for this range; BMCs whose pending request it
    -- is come first (a re-asked request may have two answers).
    local wrong
    for pass = 1, 2 do
        for _, p in ipairs(list) do
            if (bmcs[p.bmc].pending == p) == (pass == 1) then
                local bmc = bmcs[p.bmc]
                local at = check_bytes(body, first, bmc.patch)
                if at == nil then
                    answered(p, key)
                    return
                end
                wrong = wrong or ("bytes=" .. key .. " of " .. bmc.mac .. ": byte " .. at .. " differs from the expected")
            end
        end
    end
    bad_bytes = bad_bytes + 1
    note(wrong)
    answered(list[1], key)
end

function done(summary, latency, requests)
    local total = {}
    for _, name in ipairs(COUNTERS) do
        total[name] = 0
    end
    local samples = {}
    for _, thread in ipairs(threads) do
        for _, name in ipairs(COUNTERS) do
            total[name] = total[name] + (tonumber(thread:get(name)) or 0)
        end
        local sample = thread:get("error_sample")
        if sample and sample ~= "" and #samples < 5 then
            samples[#samples + 1] = sample
        end
    end
    local seconds = summary.duration / 1e6
    local e = summary.errors
    local checks = total.bad_status + total.bad_range + total.bad_length + total.bad_bytes
    local errors = checks + e.connect + e.read + e.write + e.timeout
    io.write(string.format(
        "WRK_RESULT threads=%d requests=%d seconds=%.3f rps=%.1f mib_per_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f" ..
        " errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d http_errors=%d" ..
        " responses=%d bad_status=%d bad_range=%d bad_length=%d bad_bytes=%d reissued=%d probes=%d patch_probes=%d\n",
        #threads, summary.requests, seconds, summary.requests / seconds, total.body_bytes / 1048576 / seconds,
        latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
        errors, e.connect, e.read, e.write, e.timeout, e.status,
        total.responses, total.bad_status, total.bad_range, total.bad_length, total.bad_bytes, total.reissued,
        total.probes, total.patch_probes))
    for _, sample in ipairs(samples) do
        io.write("WRK_ERROR ", sample, "\n")
    end
    local distribution = os.getenv("BMC_LATENCY_FILE")
    if distribution and distribution ~= "" and summary.requests > 0 then
        -- wrk's Lua API gives percentiles, not its per-microsecond buckets: the distribution as percentiles at 0.1 %
        -- steps, and at 0.01 % steps above p98 for the tail, up to p99.99 (wrk's p100 is always 0; the max is in
        -- WRK_RESULT).
        local file = assert(io.open(distribution, "w"))
        file:write(string.format("count %d\n", summary.requests))
        for step = 1, 980 do
            file:write(string.format("%.2f %d\n", step / 10, latency:percentile(step / 10)))
        end
        for step = 9801, 9999 do
            file:write(string.format("%.2f %d\n", step / 100, latency:percentile(step / 100)))
        end
        file:close()
    end
end
