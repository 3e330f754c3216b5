-- Refunds never leave a full card without its voucher.
-- The ledger property test found it: a purchase completed a card, two more visits followed, then
-- the purchase was refunded. refund_purchase voided the card's voucher (giving its stamps back)
-- and took the purchase's one stamp off: 2 + 5 - 1 = 6 stamps on a 5-stamp card, and no voucher.
-- Now the voucher is voided only while the current card holds fewer stamps than the purchase
-- gave, so the card after a refund always has fewer stamps than a full one. refund_purchase is as
-- in the ledger migration, with that one change.

create or replace function public.refund_purchase(p_business_id uuid, p_purchase_id uuid, p_idempotency_key text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := kanta.now();
  v_previous jsonb;
  v_purchase kanta.purchases;
  v_member kanta.members;
  v_program kanta.programs;
  v_voucher kanta.vouchers;
  v_voided jsonb := '[]'::jsonb;
  v_available integer;
  v_stamps_removed integer;
  v_points_clawed integer;
  v_debt integer;
  v_seq integer := 0;
  v_response jsonb;
begin
  v_previous := kanta.begin_operation(p_business_id, p_idempotency_key, 'refund_purchase');
  if v_previous is not null then
    return v_previous;
  end if;
  select * into v_purchase from kanta.purchases where id = p_purchase_id and business_id = p_business_id for update;
  if v_purchase.id is null then
    perform kanta.fail('purchase_not_found', 'not_found');
  elsif v_purchase.refunded_at is not null then
    perform kanta.fail('already_refunded', 'conflict');
  end if;
  update kanta.purchases set refunded_at = v_now, refunded_by = auth.uid() where id = v_purchase.id;

  if v_purchase.member_id is not null then
    v_member := kanta.lock_member(p_business_id, v_purchase.member_id);
    select * into v_program from kanta.programs where business_id = p_business_id;
    v_available := v_member.stamps;

    -- A card voucher the purchase completed is voided only while the current card cannot give the
    -- purchase's stamps back: later visits may have refilled it.
    for v_voucher in
      select * from kanta.vouchers where purchase_id = v_purchase.id and status = 'active' and kind = 'stamp_card'
      for update
    loop
      exit when v_available >= v_purchase.stamps;
      update kanta.vouchers set status = 'void' where id = v_voucher.id;
      v_seq := v_seq + 1;
      insert into kanta.ledger (business_id, member_id, kind, stamps, purchase_id, voucher_id, idempotency_key,
                                created_by, created_at, note)
      values (p_business_id, v_member.id, 'reversal', v_program.stamps_per_card, v_purchase.id, v_voucher.id,
              p_idempotency_key || '#' || v_seq, auth.uid(), v_now, 'voucher voided by refund');
      v_available := v_available + v_program.stamps_per_card;
      v_voided := v_voided || to_jsonb(v_voucher.code);
    end loop;

    v_stamps_removed := least(v_purchase.stamps, v_available);
    v_points_clawed := least(v_purchase.points, v_member.points);
    v_debt := v_purchase.points - v_points_clawed;
    if v_stamps_removed > 0 or v_points_clawed > 0 then
      v_seq := v_seq + 1;
      insert into kanta.ledger (business_id, member_id, kind, stamps, points, purchase_id, idempotency_key,
                                created_by, created_at, note)
      values (p_business_id, v_member.id, 'reversal', -v_stamps_removed, -v_points_clawed, v_purchase.id,
              p_idempotency_key || '#' || v_seq, auth.uid(), v_now,
              case when v_debt > 0 then format('%s points already spent recorded as debt', v_debt) end);
    end if;
    update kanta.purchases set refund_debt_points = v_debt where id = v_purchase.id;
    update kanta.members set
      visits = greatest(visits - 1, 0),
      spend_cents = greatest(spend_cents - v_purchase.amount_cents, 0),
      points_debt = points_debt + v_debt,
      tier = kanta.member_tier(id, v_now) ->> 'name'
    where id = v_member.id
    returning * into v_member;
    perform kanta.notify('member:' || v_member.id, 'purchase_refunded', jsonb_build_object('purchase_id', v_purchase.id));
  end if;

  perform kanta.audit(p_business_id, 'purchase_refunded', v_purchase.id::text,
                      jsonb_build_object('amount_cents', v_purchase.amount_cents, 'points_debt', coalesce(v_debt, 0)));
  v_response := jsonb_build_object(
    'purchase_id', v_purchase.id,
    'member_id', v_purchase.member_id,
    'amount_cents', v_purchase.amount_cents,
    'stamps_removed', coalesce(v_stamps_removed, 0),
    'points_clawed_back', coalesce(v_points_clawed, 0),
    'points_debt_added', coalesce(v_debt, 0),
    'vouchers_voided', v_voided,
    'stamps', v_member.stamps,
    'points', v_member.points,
    'tier', v_member.tier,
    'refunded_at', v_now
  );
  return kanta.finish_operation(p_business_id, p_idempotency_key, v_response);
end
$$;
revoke execute on function public.refund_purchase(uuid, uuid, text) from public, anon;
grant execute on function public.refund_purchase(uuid, uuid, text) to authenticated, service_role;

select kanta.grant_helpers();
