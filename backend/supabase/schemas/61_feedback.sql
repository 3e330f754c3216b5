-- Feedback after a visit (0–10 and a comment), the owner's NPS summary, and the owner's reply,
-- which reaches the member's inbox.

-- =============================================================================================
-- Section - Feedback
-- =============================================================================================
create table if not exists kanta.feedback (
  id uuid primary key default gen_random_uuid(),
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  member_id uuid not null references kanta.members (id) on delete cascade,
  score integer not null,
  comment text,
  created_at timestamptz not null default now(),
  reply text,
  replied_at timestamptz,
  replied_by uuid,
  constraint feedback_score check (score between 0 and 10),
  constraint feedback_comment check (comment is null or length(comment) <= 1000),
  constraint feedback_reply check (reply is null or length(reply) <= 1000)
);

create index if not exists feedback_business_idx on kanta.feedback (business_id, created_at desc);

create index if not exists feedback_member_idx on kanta.feedback (member_id, created_at desc);

alter table kanta.feedback enable row level security;

revoke all on kanta.feedback from anon, authenticated, public;

grant select on kanta.feedback to authenticated;

create policy "Feedback is viewable by its member and the owner" on kanta.feedback
  for select to authenticated
  using (kanta.is_staff(business_id, 'owner')
         or exists (select 1 from kanta.members m
                    where m.id = feedback.member_id and m.user_id = (select auth.uid())));

-- =============================================================================================
-- Section - Public functions
-- =============================================================================================

-- After a visit in the last 7 days; at most once a day on the café's calendar. The answer offers
-- the café's review link (the integration settings, 20_program.sql).
create or replace function public.submit_feedback(p_member_id uuid, p_score integer, p_comment text default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := kanta.now();
  v_member kanta.members;
  v_tz text;
  v_feedback kanta.feedback;
begin
  select * into v_member from kanta.members where id = p_member_id and user_id = kanta.require_user() for update;
  if v_member.id is null then
    perform kanta.fail('member_not_found', 'not_found');
  end if;
  if p_score is null or p_score not between 0 and 10 then
    perform kanta.fail('invalid_score');
  end if;
  if p_comment is not null and length(p_comment) > 1000 then
    perform kanta.fail('comment_too_long');
  end if;
  select timezone into v_tz from kanta.businesses where id = v_member.business_id;
  if not exists (select 1 from kanta.purchases p where p.member_id = v_member.id and p.refunded_at is null
                 and p.created_at > v_now - interval '7 days' and p.created_at <= v_now) then
    perform kanta.fail('no_recent_visit', 'conflict');
  end if;
  if exists (select 1 from kanta.feedback f where f.member_id = v_member.id
             and (f.created_at at time zone v_tz)::date = (v_now at time zone v_tz)::date) then
    perform kanta.fail('feedback_already_given', 'conflict');
  end if;
  insert into kanta.feedback (business_id, member_id, score, comment, created_at)
  values (v_member.business_id, v_member.id, p_score, nullif(btrim(p_comment), ''), v_now)
  returning * into v_feedback;
  perform kanta.notify('business:' || v_member.business_id, 'feedback', jsonb_build_object('feedback_id', v_feedback.id));
  return jsonb_build_object('feedback_id', v_feedback.id, 'score', v_feedback.score, 'created_at', v_feedback.created_at,
                            'review_url', (select i.review_url from kanta.integrations i
                                           where i.business_id = v_member.business_id));
end
$$;
revoke execute on function public.submit_feedback(uuid, integer, text) from public, anon;
grant execute on function public.submit_feedback(uuid, integer, text) to authenticated, service_role;

-- NPS = % promoters (9–10) − % detractors (0–6), over [p_from, p_to), with recent comments.
create or replace function public.feedback_summary(p_business_id uuid, p_from timestamptz default null,
                                                   p_to timestamptz default null)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_from timestamptz := coalesce(p_from, '-infinity'::timestamptz);
  v_to timestamptz := coalesce(p_to, 'infinity'::timestamptz);
  v_result jsonb;
begin
  perform kanta.require_staff(p_business_id, 'owner');
  select jsonb_build_object(
    'responses', count(*),
    'promoters', count(*) filter (where score >= 9),
    'passives', count(*) filter (where score between 7 and 8),
    'detractors', count(*) filter (where score <= 6),
    'nps', case when count(*) > 0 then round(100.0 * (count(*) filter (where score >= 9)
                                                        - count(*) filter (where score <= 6)) / count(*)) end,
    'average', round(avg(score), 2)
  ) into v_result
  from kanta.feedback
  where business_id = p_business_id and created_at >= v_from and created_at < v_to;
  return v_result || jsonb_build_object('recent', coalesce((
    select jsonb_agg(jsonb_build_object('id', f.id, 'score', f.score, 'comment', f.comment, 'created_at', f.created_at,
                                        'member_name', m.display_name, 'reply', f.reply) order by f.created_at desc)
    from (select * from kanta.feedback where business_id = p_business_id and created_at >= v_from
          and created_at < v_to order by created_at desc limit 20) f
    join kanta.members m on m.id = f.member_id
  ), '[]'::jsonb));
end
$$;
revoke execute on function public.feedback_summary(uuid, timestamptz, timestamptz) from public, anon;
grant execute on function public.feedback_summary(uuid, timestamptz, timestamptz) to authenticated, service_role;

-- "You told us, we listened": the owner's reply goes to the member's inbox.
create or replace function public.reply_feedback(p_feedback_id uuid, p_reply text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_feedback kanta.feedback;
begin
  select * into v_feedback from kanta.feedback where id = p_feedback_id for update;
  if v_feedback.id is null or not kanta.is_staff(v_feedback.business_id, 'owner') then
    perform kanta.fail('feedback_not_found', 'not_found');
  end if;
  if p_reply is null or length(btrim(p_reply)) not between 1 and 1000 then
    perform kanta.fail('invalid_message');
  end if;
  update kanta.feedback set reply = btrim(p_reply), replied_at = kanta.now(), replied_by = auth.uid()
  where id = v_feedback.id;
  perform kanta.send(v_feedback.member_id, 'feedback_reply', false, 'reply:' || v_feedback.id || ':' || kanta.now(),
                     jsonb_build_object('feedback_id', v_feedback.id, 'score', v_feedback.score),
                     null, btrim(p_reply));
  return jsonb_build_object('feedback_id', v_feedback.id, 'reply', btrim(p_reply));
end
$$;
revoke execute on function public.reply_feedback(uuid, text) from public, anon;
grant execute on function public.reply_feedback(uuid, text) to authenticated, service_role;
