-- Folds one ledger fact into the experience read model, atomically (see fold.py for the layout).
-- ROLES (kind -> {measure, pair, side, other kind}) is prepended by fold.py from keys.ROLES.
-- KEYS[1] = the facts hash (also routes the script to the read model's one hash-tagged slot).
-- ARGV: prefix, id (kind|key), doc (the fact's JSON with _o/_r occurred/recorded ms, _rm recorded
--       month), latency ttl seconds.
-- Returns: applied | replaced | duplicate | stale
local facts = KEYS[1]
local P, id, doc, lat_ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local d = cjson.decode(doc)
local o, r = d._o, d._r
local role = ROLES[d.kind]
local measure, pair, side = role[1], role[2], role[3]
local amount = d.amount or 0
local entity = d.entity or '-'
local cell = (d.period or '-') .. '|' .. entity .. '|' .. (d.currency or '-')

local function cell_of(x) return (x.period or '-') .. '|' .. (x.entity or '-') .. '|' .. (x.currency or '-') end
local function unmatched(p, c) return P .. 'um:' .. p .. ':' .. c end
local function indexes(x, op)
  if x.contract_id then redis.call(op, P .. 'lc:' .. x.contract_id, id) end
  if x.customer_id then redis.call(op, P .. 'lu:' .. x.customer_id, id) end
  if x.invoice_id then redis.call(op, P .. 'li:' .. x.invoice_id, id) end
end

local result = 'applied'
local old = redis.call('HGET', facts, id)
if old then
  local od = cjson.decode(old)
  if od._o > o or (od._o == o and od._r >= r) then
    if od._o == o and od._r == r then return 'duplicate' end
    return 'stale'
  end
  -- take the older version's contribution out before the newer one goes in
  local oc = cell_of(od)
  if measure ~= '' then
    redis.call('HINCRBY', P .. 'agg:' .. oc, measure, -(od.amount or 0))
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
  local counterpart = redis.call('HGET', facts, role[4] .. '|' .. d.key)
  local cd = nil
  if counterpart then
    cd = cjson.decode(counterpart)
    redis.call('ZREM', unmatched(pair, cell_of(cd)), role[4] .. '|' .. d.key)
    if result == 'applied' then
      local src_entity = entity
      if side == 't' then src_entity = cd.entity or '-' end
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
    redis.call('ZADD', lat, math.max(0, posted_r - billed_o), d.key)
    redis.call('EXPIRE', lat, lat_ttl)
  end
end

-- contract-to-first-bill cycle time
if d.kind == 'invoice.billed' and d.contract_id then
  local first = tonumber(redis.call('HGET', P .. 'firstbill', d.contract_id))
  if not first or o < first then
    redis.call('HSET', P .. 'firstbill', d.contract_id, o)
    first = o
  end
  local booked = redis.call('HGET', facts, 'contract.booked|' .. d.contract_id)
  if booked then
    redis.call('ZADD', P .. 'cycle', math.max(0, first - cjson.decode(booked)._o), d.contract_id)
  end
elseif d.kind == 'contract.booked' then
  local first = tonumber(redis.call('HGET', P .. 'firstbill', d.key))
  if first then redis.call('ZADD', P .. 'cycle', math.max(0, first - o), d.key) end
end

redis.call('HINCRBY', P .. 'stats', result, 1)
return result
