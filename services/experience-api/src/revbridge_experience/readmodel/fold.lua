-- Folds one ledger fact into the experience read model, atomically (see fold.py for the layout).
-- ROLES (kind -> {measure, pair, side, other kind}) is prepended by fold.py from keys.ROLES, and
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
local measure, pair, side = role[1], role[2], role[3]
local amount = d[F.amount] or 0
local entity = d[F.entity] or '-'
local cell = (d[F.period] or '-') .. '|' .. entity .. '|' .. (d[F.currency] or '-')

local function cell_of(x) return (x[F.period] or '-') .. '|' .. (x[F.entity] or '-') .. '|' .. (x[F.currency] or '-') end
local function unmatched(p, c) return P .. 'um:' .. p .. ':' .. c end
local function indexes(x, op)
  if x[F.contract_id] then redis.call(op, P .. 'lc:' .. x[F.contract_id], id) end
  if x[F.customer_id] then redis.call(op, P .. 'lu:' .. x[F.customer_id], id) end
  if x[F.invoice_id] then redis.call(op, P .. 'li:' .. x[F.invoice_id], id) end
end

local result = 'applied'
local old = redis.call('HGET', facts, id)
if old then
  local od = compact(cjson.decode(old))
  if od._o > o or (od._o == o and od._r >= r) then
    if od._o == o and od._r == r then return 'duplicate' end
    return 'stale'
  end
  -- take the older version's contribution out before the newer one goes in
  local oc = cell_of(od)
  if measure ~= '' then
    redis.call('HINCRBY', P .. 'agg:' .. oc, measure, -(od[F.amount] or 0))
    redis.call('HINCRBY', P .. 'agg:' .. oc, 'n:' .. measure, -1)
    redis.call('ZREM', P .. 'dd:' .. measure .. ':' .. oc, id)
  end
  if pair ~= '' then redis.call('ZREM', unmatched(pair, oc), id) end
  indexes(od, 'SREM')
  result = 'replaced'
end

redis.call('HSET', facts, id, doc)
if measure ~= '' then
  redis.call('HINCRBY', P .. 'agg:' .. cell, measure, amount)
  redis.call('HINCRBY', P .. 'agg:' .. cell, 'n:' .. measure, 1)
  redis.call('ZADD', P .. 'dd:' .. measure .. ':' .. cell, o, id)
  redis.call('SADD', P .. 'cells', cell)
end
indexes(d, 'SADD')

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
