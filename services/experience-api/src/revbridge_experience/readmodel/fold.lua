-- Folds one ledger fact into the experience read model, atomically (see fold.py for the layout).
-- ROLES (kind -> {measure, pair, side, other kind, forecast '1'|'', measure of a reversed fact}) is
-- prepended by fold.py from keys.ROLES, and
-- F (field name -> its short name in a stored document) from codec.NAMES.
-- KEYS[1] = the facts hash (also routes the script to the read model's one hash-tagged slot).
-- ARGV: prefix, id (kind|key), doc (codec.encode: compact JSON with _o/_r occurred/recorded ms,
--       _rm recorded month for the invoice pair), latency ttl seconds.
-- Returns: applied | replaced | duplicate | stale
local facts = KEYS[1]
local P, id, doc, lat_ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
-- a document stored before the compact form has the long names: read it under the short ones
local function compact(x)
  if x.kind == nil then return x end
  local c = {_o = x._o, _r = x._r, _rm = x._rm}
  for long, short in pairs(F) do c[short] = x[long] end
  return c
end
local d = cjson.decode(doc)
local kind, key = string.match(id, '^([^|]*)|(.*)$')
local o, r = d._o, d._r
local role = ROLES[kind]
local pair, side = role[2], role[3]
local forecast = role[5] == '1'
local function measure_of(x)
  if role[6] ~= '' and x[F.status] == 'reversed' then return role[6] end
  return role[1]
end
local measure = measure_of(d)
local amount = d[F.amount] or 0
local entity = d[F.entity] or '-'
local cell = (d[F.period] or '-') .. '|' .. entity .. '|' .. (d[F.currency] or '-')
local cells = P .. 'cells'
if forecast then cells = P .. 'fcells' end

local function cell_of(x) return (x[F.period] or '-') .. '|' .. (x[F.entity] or '-') .. '|' .. (x[F.currency] or '-') end
local function unmatched(p, c) return P .. 'um:' .. p .. ':' .. c end
local function indexes(x, op, fid)
  if forecast then  -- a schedule is not a record of a platform: indexed by contract, not for lineage
    if x[F.contract_id] then redis.call(op, P .. 'sc:' .. x[F.contract_id], fid) end
    return
  end
  if x[F.contract_id] then redis.call(op, P .. 'lc:' .. x[F.contract_id], fid) end
  if x[F.customer_id] then redis.call(op, P .. 'lu:' .. x[F.customer_id], fid) end
  if x[F.invoice_id] then redis.call(op, P .. 'li:' .. x[F.invoice_id], fid) end
end
local function take_out(x, fid, m)
  if m == '' then return end
  local c = cell_of(x)
  -- 0 - a, not -a: Lua's -0 is the text '-0', which HINCRBY refuses (a replaced 0 amount)
  redis.call('HINCRBY', P .. 'agg:' .. c, m, 0 - (x[F.amount] or 0))
  redis.call('HINCRBY', P .. 'agg:' .. c, 'n:' .. m, -1)
  redis.call('ZREM', P .. 'dd:' .. m .. ':' .. c, fid)
end

local result = 'applied'
local old = redis.call('HGET', facts, id)
if old then
  local od = compact(cjson.decode(old))
  if od._o > o or (od._o == o and od._r >= r) then
    if od._o == o and od._r == r then return 'duplicate' end
    return 'stale'
  end
end

-- a contract's schedule is one version: a newer one replaces every month of the older one (also
-- months it no longer has), a month of an older one arriving late is stale
local contract_of = d[F.contract_id]
if forecast and contract_of then
  local version = tonumber(redis.call('HGET', P .. 'sv', contract_of))
  if version and o < version then return 'stale' end
  if not version or o > version then
    redis.call('HSET', P .. 'sv', contract_of, o)
    for _, member in ipairs(redis.call('SMEMBERS', P .. 'sc:' .. contract_of)) do
      local raw = member ~= id and redis.call('HGET', facts, member)
      if raw then
        local x = compact(cjson.decode(raw))
        if x._o < o then
          local mkind = string.match(member, '^([^|]*)|')
          take_out(x, member, ROLES[mkind][1])
          redis.call('HDEL', facts, member)
          redis.call('SREM', P .. 'sc:' .. contract_of, member)
          redis.call('HINCRBY', P .. 'stats', 'superseded', 1)
        end
      elseif member ~= id then
        redis.call('SREM', P .. 'sc:' .. contract_of, member)
      end
    end
  end
end

if old then
  -- take the older version's contribution out before the newer one goes in
  local od = compact(cjson.decode(old))
  take_out(od, id, measure_of(od))
  if pair ~= '' then redis.call('ZREM', unmatched(pair, cell_of(od)), id) end
  indexes(od, 'SREM', id)
  result = 'replaced'
end

redis.call('HSET', facts, id, doc)
if measure ~= '' then
  redis.call('HINCRBY', P .. 'agg:' .. cell, measure, amount)
  redis.call('HINCRBY', P .. 'agg:' .. cell, 'n:' .. measure, 1)
  redis.call('ZADD', P .. 'dd:' .. measure .. ':' .. cell, o, id)
  redis.call('SADD', cells, cell)
end
indexes(d, 'SADD', id)

-- pairs (source in billing/CRM, target in the ERP): unmatched records and sync counts
if pair ~= '' then
  local counterpart = redis.call('HGET', facts, role[4] .. '|' .. key)
  local cd = nil
  if counterpart then
    cd = compact(cjson.decode(counterpart))
    redis.call('ZREM', unmatched(pair, cell_of(cd)), role[4] .. '|' .. key)
    if result == 'applied' then
      local src_entity = entity
      if side == 't' then src_entity = cd[F.entity] or '-' end
      redis.call('HINCRBY', P .. 'sync', src_entity .. '|' .. pair .. '|ok', 1)
    end
  else
    redis.call('ZADD', unmatched(pair, cell), o, id)
  end
  if side == 's' and result == 'applied' then
    redis.call('HINCRBY', P .. 'sync', entity .. '|' .. pair .. '|src', 1)
  end
  -- invoice latency: billed (occurred) -> first posted (recorded), per month of posting; a re-run
  -- of the posting (the paid event converges it again) replaces the fact, not the latency
  if pair == 'invoice_posting' and cd and result == 'applied' then
    local billed_o, posted_r, month = o, cd._r, cd._rm
    if side == 't' then billed_o, posted_r, month = cd._o, r, d._rm end
    local lat = P .. 'lat:' .. month
    redis.call('ZADD', lat, math.max(0, posted_r - billed_o), key)
    redis.call('EXPIRE', lat, lat_ttl)
  end
end

-- contract-to-first-bill cycle time
local contract = d[F.contract_id]
if kind == 'invoice.billed' and contract then
  local first = tonumber(redis.call('HGET', P .. 'firstbill', contract))
  if not first or o < first then
    redis.call('HSET', P .. 'firstbill', contract, o)
    first = o
  end
  local booked = redis.call('HGET', facts, 'contract.booked|' .. contract)
  if booked then
    redis.call('ZADD', P .. 'cycle', math.max(0, first - cjson.decode(booked)._o), contract)
  end
elseif kind == 'contract.booked' then
  local first = tonumber(redis.call('HGET', P .. 'firstbill', key))
  if first then redis.call('ZADD', P .. 'cycle', math.max(0, first - o), key) end
end

redis.call('HINCRBY', P .. 'stats', result, 1)
return result
