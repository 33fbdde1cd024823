-- Database schema of a BOINC project: the 46 tables and one view that BOINC's
-- make_project creates, with their indexes, plus the initial rows.
--
-- Loaded by sched.schema.load_schema() into a database created with
-- CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci.  Statements end with ';'
-- at the end of a line; whole-line '--' comments only.  Plain MySQL 8 /
-- MariaDB syntax.
--
-- Compatibility contract (the checker in sched/schema.py holds us to it):
-- column names, order, types, nullability and defaults, index names and
-- columns are the same as in a database made by BOINC itself, because BOINC's
-- PHP web code and tools read these tables too.  New columns go at the end.
-- db/description/*.tsv is the information_schema view of this file.

-- Client platforms (names as the client reports them).
create table platform (
  id                      int             not null auto_increment,
  create_time             int             not null,
  name                    varchar(191)    not null,
  user_friendly_name      varchar(254)    not null,
  deprecated              tinyint         not null default 0,
  primary key (id),
  unique key name (name)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Applications.  Everything past user_friendly_name is per-app scheduling policy.
create table app (
  id                      int             not null auto_increment,
  create_time             int             not null,
  name                    varchar(191)    not null,
  min_version             int             not null default 0,
  deprecated              smallint        not null default 0,
  user_friendly_name      varchar(254)    not null,
  homogeneous_redundancy  smallint        not null default 0,
  weight                  double          not null default 1,
  beta                    smallint        not null default 0,
  target_nresults         smallint        not null default 0,
  min_avg_pfc             double          not null default 1,
  host_scale_check        tinyint         not null default 0,
  homogeneous_app_version tinyint         not null default 0,
  non_cpu_intensive       tinyint         not null default 0,
  locality_scheduling     int             not null default 0,
  n_size_classes          smallint        not null default 0,
  fraction_done_exact     tinyint         not null default 0,
  primary key (id),
  unique key name (name)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- One row per (app, platform, version, plan class); xml_doc holds the
-- <file_info>s and the <app_version> element sent to clients.
create table app_version (
  id                      int             not null auto_increment,
  create_time             int             not null,
  appid                   int             not null,
  version_num             int             not null,
  platformid              int             not null,
  xml_doc                 mediumblob,
  min_core_version        int             not null default 0,
  max_core_version        int             not null default 0,
  deprecated              tinyint         not null default 0,
  plan_class              varchar(128)    not null default '',
  pfc_n                   double          not null default 0,
  pfc_avg                 double          not null default 0,
  pfc_scale               double          not null default 0,
  expavg_credit           double          not null default 0,
  expavg_time             double          not null default 0,
  beta                    tinyint         not null default 0,
  primary key (id),
  unique key apvp (appid, platformid, version_num, plan_class)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Volunteer accounts.  Reused old columns: seti_id = "run submitted jobs on
-- my hosts" flag, signature = invite code of accounts made by RPC.
create table user (
  id                      int             not null auto_increment,
  create_time             int             not null,
  email_addr              varchar(191)    not null,
  name                    varchar(191),
  authenticator           varchar(191),
  country                 varchar(254),
  postal_code             varchar(254),
  total_credit            double          not null,
  expavg_credit           double          not null,
  expavg_time             double          not null,
  global_prefs            blob,
  project_prefs           blob,
  teamid                  int             not null,
  venue                   varchar(254)    not null,
  url                     varchar(254),
  send_email              smallint        not null,
  show_hosts              smallint        not null,
  posts                   smallint        not null,
  seti_id                 int             not null,
  seti_nresults           int             not null,
  seti_last_result_time   int             not null,
  seti_total_cpu          double          not null,
  signature               varchar(254),
  has_profile             smallint        not null,
  cross_project_id        varchar(254)    not null,
  passwd_hash             varchar(254)    not null,
  email_validated         smallint        not null,
  donated                 smallint        not null,
  login_token             char(32)        not null default '',
  login_token_time        double          not null default 0,
  previous_email_addr     varchar(254)    not null default '',
  email_addr_change_time  double          not null default 0,
  primary key (id),
  unique key authenticator (authenticator),
  unique key email_addr (email_addr),
  key ind_tid (teamid),
  unique key name (name),
  key user_avg (expavg_credit desc),
  key user_email_time (email_addr_change_time),
  key user_tot (total_credit desc)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table team (
  id                      int             not null auto_increment,
  create_time             int             not null,
  userid                  int             not null,
  name                    varchar(191)    not null,
  name_lc                 varchar(254),
  url                     varchar(254),
  type                    int             not null,
  name_html               varchar(254),
  description             text,
  nusers                  int             not null,
  country                 varchar(254),
  total_credit            double          not null default 0,
  expavg_credit           double          not null default 0,
  expavg_time             double          not null,
  seti_id                 int             not null default 0,
  ping_user               int             not null default 0,
  ping_time               int unsigned    not null default 0,
  joinable                tinyint         not null default 1,
  mod_time                timestamp       null default current_timestamp on update current_timestamp,
  primary key (id),
  unique key name (name),
  key team_avg (expavg_credit desc),
  fulltext key team_name_desc (name, description),
  key team_tot (total_credit desc),
  key team_userid (userid)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Client hosts.  Most columns are overwritten on every scheduler RPC.
-- userid=0 marks a host merged into the host whose id is in rpc_seqno.
create table host (
  id                      int             not null auto_increment,
  create_time             int             not null,
  userid                  int             not null,
  rpc_seqno               int             not null,
  rpc_time                int             not null,
  total_credit            double          not null,
  expavg_credit           double          not null,
  expavg_time             double          not null,
  timezone                int             not null,
  domain_name             varchar(254),
  serialnum               varchar(254),
  last_ip_addr            varchar(254),
  nsame_ip_addr           int             not null,
  on_frac                 double          not null,
  connected_frac          double          not null,
  active_frac             double          not null,
  cpu_efficiency          double          not null,
  duration_correction_factor double         not null,
  p_ncpus                 int             not null,
  p_vendor                varchar(254),
  p_model                 varchar(254),
  p_fpops                 double          not null,
  p_iops                  double          not null,
  p_membw                 double          not null,
  os_name                 varchar(254),
  os_version              varchar(254),
  m_nbytes                double          not null,
  m_cache                 double          not null,
  m_swap                  double          not null,
  d_total                 double          not null,
  d_free                  double          not null,
  d_boinc_used_total      double          not null,
  d_boinc_used_project    double          not null,
  d_boinc_max             double          not null,
  n_bwup                  double          not null,
  n_bwdown                double          not null,
  credit_per_cpu_sec      double          not null,
  venue                   varchar(254)    not null,
  nresults_today          int             not null,
  avg_turnaround          double          not null,
  host_cpid               varchar(254),
  external_ip_addr        varchar(254),
  max_results_day         int             not null,
  error_rate              double          not null default 0,
  product_name            varchar(254)    not null,
  gpu_active_frac         double          not null,
  p_ngpus                 int             not null,
  p_gpu_fpops             double          not null,
  -- JSON summary of GPUs / Docker / VirtualBox; absent in projects made
  -- before late 2025 (a parenthesised default is what MySQL 8 accepts on text)
  misc                    text            not null default (''),
  primary key (id),
  key host_avg (expavg_credit desc),
  key host_domain_name (domain_name),
  key host_tot (total_credit desc),
  key host_userid_cpid (userid, host_cpid)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Per (host, generalized app version) runtime statistics and job quota.
-- No primary key: the unique pair is the key.
create table host_app_version (
  host_id                 int             not null,
  app_version_id          int             not null,
  pfc_n                   double          not null,
  pfc_avg                 double          not null,
  et_n                    double          not null,
  et_avg                  double          not null,
  et_var                  double          not null,
  et_q                    double          not null,
  max_jobs_per_day        int             not null,
  n_jobs_today            int             not null,
  turnaround_n            double          not null,
  turnaround_avg          double          not null,
  turnaround_var          double          not null,
  turnaround_q            double          not null,
  consecutive_valid       int             not null,
  unique key hap (host_id, app_version_id)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Jobs.  transition_time = 2^31-1 means "nothing for the transitioner".
create table workunit (
  id                      int             not null auto_increment,
  create_time             int             not null,
  appid                   int             not null,
  name                    varchar(191)    not null,
  xml_doc                 blob,
  batch                   int             not null,
  rsc_fpops_est           double          not null,
  rsc_fpops_bound         double          not null,
  rsc_memory_bound        double          not null,
  rsc_disk_bound          double          not null,
  need_validate           smallint        not null,
  canonical_resultid      int             not null,
  canonical_credit        double          not null,
  transition_time         int             not null,
  delay_bound             int             not null,
  error_mask              int             not null,
  file_delete_state       int             not null,
  assimilate_state        int             not null,
  hr_class                int             not null,
  opaque                  double          not null,
  min_quorum              int             not null,
  target_nresults         int             not null,
  max_error_results       int             not null,
  max_total_results       int             not null,
  max_success_results     int             not null,
  result_template_file    varchar(63)     not null,
  priority                int             not null,
  mod_time                timestamp       null default current_timestamp on update current_timestamp,
  rsc_bandwidth_bound     double          not null,
  fileset_id              int             not null,
  app_version_id          int             not null,
  transitioner_flags      tinyint         not null,
  size_class              smallint        not null default -1,
  keywords                varchar(254)    not null,
  app_version_num         int             not null,
  primary key (id),
  unique key name (name),
  key wu_assim (appid, assimilate_state),
  key wu_batch (batch),
  key wu_filedel (file_delete_state),
  key wu_timeout (transition_time),
  key wu_val (appid, need_validate)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Job instances.  Column order matters: BOINC tools insert rows positionally.
create table result (
  id                      int             not null auto_increment,
  create_time             int             not null,
  workunitid              int             not null,
  server_state            int             not null,
  outcome                 int             not null,
  client_state            int             not null,
  hostid                  int             not null,
  userid                  int             not null,
  report_deadline         int             not null,
  sent_time               int             not null,
  received_time           int             not null,
  name                    varchar(191)    not null,
  cpu_time                double          not null,
  xml_doc_in              blob,
  xml_doc_out             blob,
  stderr_out              blob,
  batch                   int             not null,
  file_delete_state       int             not null,
  validate_state          int             not null,
  claimed_credit          double          not null,
  granted_credit          double          not null,
  opaque                  double          not null,
  random                  int             not null,
  app_version_num         int             not null,
  appid                   int             not null,
  exit_status             int             not null,
  teamid                  int             not null,
  priority                int             not null,
  mod_time                timestamp       null default current_timestamp on update current_timestamp,
  elapsed_time            double          not null,
  flops_estimate          double          not null,
  app_version_id          int             not null,
  runtime_outlier         tinyint         not null,
  size_class              smallint        not null default -1,
  peak_working_set_size   double          not null,
  peak_swap_size          double          not null,
  peak_disk_usage         double          not null,
  primary key (id),
  key ind_res_st (server_state, priority),
  unique key name (name),
  key res_app_state (appid, server_state),
  key res_batch (batch),
  key res_filedel (file_delete_state),
  key res_hostid_id (hostid, id desc),
  key res_userid_id (userid, id desc),
  key res_userid_val (userid, validate_state),
  key res_wuid (workunitid)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Remote job submission: batches, submitter permissions, staged files.
create table batch (
  id                      bigint unsigned not null auto_increment,
  user_id                 int             not null,
  create_time             int             not null,
  logical_start_time      double          not null,
  logical_end_time        double          not null,
  est_completion_time     double          not null,
  njobs                   int             not null,
  fraction_done           double          not null,
  nerror_jobs             int             not null,
  state                   int             not null,
  completion_time         double          not null,
  credit_estimate         double          not null,
  credit_canonical        double          not null,
  credit_total            double          not null,
  name                    varchar(255)    not null,
  app_id                  int             not null,
  project_state           int             not null,
  description             varchar(255)    not null,
  expire_time             double          not null,
  primary key (id)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table user_submit (
  user_id                 int             not null,
  quota                   double          not null,
  logical_start_time      double          not null,
  submit_all              tinyint         not null,
  manage_all              tinyint         not null,
  max_jobs_in_progress    int             not null,
  primary key (user_id)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table user_submit_app (
  user_id                 int             not null,
  app_id                  int             not null,
  manage                  tinyint         not null,
  primary key (user_id, app_id)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table job_file (
  id                      int             not null auto_increment,
  name                    varchar(191)    not null,
  create_time             double          not null,
  delete_time             double          not null,
  primary key (id),
  unique key jf_name (name)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Trickle messages, client to server and server to client.
create table msg_from_host (
  id                      int             not null auto_increment,
  create_time             int             not null,
  hostid                  int             not null,
  variety                 varchar(254)    not null,
  handled                 smallint        not null,
  xml                     mediumtext,
  primary key (id),
  key message_handled (handled),
  key message_hostid (hostid)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table msg_to_host (
  id                      int             not null auto_increment,
  create_time             int             not null,
  hostid                  int             not null,
  variety                 varchar(254)    not null,
  handled                 smallint        not null,
  xml                     mediumtext,
  primary key (id),
  key msg_to_host (hostid, handled)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Jobs pinned to a host / user / team, or broadcast to all hosts.
create table assignment (
  id                      int             not null auto_increment,
  create_time             int             not null,
  target_id               int             not null,
  target_type             int             not null,
  multi                   tinyint         not null,
  workunitid              int             not null,
  resultid                int             not null,
  primary key (id),
  key asgn_target (target_type, target_id)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Per-app credit totals (<credit_by_app/>).
create table credit_user (
  userid                  int             not null,
  appid                   int             not null,
  njobs                   int             not null,
  total                   double          not null,
  expavg                  double          not null,
  expavg_time             double          not null,
  credit_type             int             not null,
  primary key (userid, appid, credit_type),
  key cu_avg (appid, expavg),
  key cu_total (appid, total)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table credit_team (
  teamid                  int             not null,
  appid                   int             not null,
  njobs                   int             not null,
  total                   double          not null,
  expavg                  double          not null,
  expavg_time             double          not null,
  credit_type             int             not null,
  primary key (teamid, appid, credit_type),
  key ct_avg (appid, expavg),
  key ct_total (appid, total)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table credited_job (
  userid                  int             not null,
  workunitid              bigint          not null,
  key credited_job_user (userid),
  unique key credited_job_user_wu (userid, workunitid),
  key credited_job_wu (workunitid)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- From here on: tables read and written only by the web site.
create table profile (
  userid                  int             not null,
  language                varchar(254),
  response1               text,
  response2               text,
  has_picture             smallint        not null,
  recommend               int             not null,
  reject                  int             not null,
  posts                   int             not null,
  uotd_time               int,
  verification            int             not null,
  primary key (userid),
  fulltext key profile_reponse (response1, response2),
  unique key profile_userid (userid),
  key pro_uotd (uotd_time desc)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Message boards: categories, forums, threads, posts.
create table category (
  id                      int             not null auto_increment,
  orderID                 int             not null,
  lang                    int             not null,
  name                    varchar(180)    not null,
  is_helpdesk             smallint        not null,
  primary key (id),
  unique key cat1 (name, is_helpdesk)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table forum (
  id                      int             not null auto_increment,
  category                int             not null,
  orderID                 int             not null,
  title                   varchar(175)    not null,
  description             varchar(254)    not null,
  timestamp               int             not null default 0,
  threads                 int             not null default 0,
  posts                   int             not null default 0,
  rate_min_expavg_credit  int             not null default 0,
  rate_min_total_credit   int             not null default 0,
  post_min_interval       int             not null default 0,
  post_min_expavg_credit  int             not null default 0,
  post_min_total_credit   int             not null default 0,
  is_dev_blog             tinyint         not null default 0,
  parent_type             int             not null default 0,
  primary key (id),
  unique key pct (parent_type, category, title)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table thread (
  id                      int             not null auto_increment,
  forum                   int             not null,
  owner                   int             not null,
  status                  int             not null,
  title                   varchar(254)    not null,
  timestamp               int             not null,
  views                   int             not null,
  replies                 int             not null,
  activity                double          not null,
  sufferers               int             not null,
  score                   double          not null,
  votes                   int             not null,
  create_time             int             not null,
  hidden                  int             not null,
  sticky                  tinyint         not null default 0,
  locked                  tinyint         not null default 0,
  primary key (id),
  fulltext key thread_title (title)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table post (
  id                      int             not null auto_increment,
  thread                  int             not null,
  user                    int             not null,
  timestamp               int             not null,
  content                 text            not null,
  modified                int             not null,
  parent_post             int             not null,
  score                   double          not null,
  votes                   int             not null,
  signature               tinyint         not null default 0,
  hidden                  int             not null,
  primary key (id),
  fulltext key post_content (content),
  key post_thread (thread),
  key post_user (user)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table subscriptions (
  userid                  int             not null,
  threadid                int             not null,
  notified_time           int             not null default 0,
  unique key sub_unique (userid, threadid)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table forum_preferences (
  userid                  int             not null default 0,
  signature               varchar(254)    not null default '',
  posts                   int             not null default 0,
  last_post               int             not null,
  avatar                  varchar(254)    not null default '',
  hide_avatars            tinyint         not null default 0,
  forum_sorting           int             not null,
  thread_sorting          int             not null,
  no_signature_by_default tinyint         not null default 1,
  images_as_links         tinyint         not null default 0,
  link_popup              tinyint         not null default 0,
  mark_as_read_timestamp  int             not null default 0,
  special_user            char(12)        not null default '0',
  jump_to_unread          tinyint         not null default 1,
  hide_signatures         tinyint         not null default 0,
  rated_posts             varchar(254)    not null,
  low_rating_threshold    int             not null default -25,
  high_rating_threshold   int             not null default 5,
  minimum_wrap_postcount  int             not null default 100,
  display_wrap_postcount  int             not null default 75,
  ignorelist              varchar(254)    not null,
  ignore_sticky_posts     tinyint         not null default 0,
  banished_until          int             not null default 0,
  pm_notification         tinyint         not null default 0,
  highlight_special       tinyint         not null default 1,
  primary key (userid)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table forum_logging (
  userid                  int             not null default 0,
  threadid                int             not null default 0,
  timestamp               int             not null default 0,
  primary key (userid, threadid)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table post_ratings (
  post                    int             not null,
  user                    int             not null,
  rating                  tinyint         not null,
  primary key (post, user),
  key post_ratings_user (user)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table sent_email (
  userid                  int             not null,
  time_sent               int             not null,
  email_type              smallint        not null,
  primary key (userid),
  key sent_email_userid (userid)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table private_messages (
  id                      int             not null auto_increment,
  userid                  int             not null,
  senderid                int             not null,
  date                    int             not null,
  opened                  tinyint         not null default 0,
  subject                 varchar(255)    not null,
  content                 text            not null,
  primary key (id),
  key userid (userid)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table donation_items (
  id                      int             not null auto_increment,
  item_name               varchar(32)     not null,
  title                   varchar(255)    not null,
  description             varchar(255)    not null,
  required                double          not null default 0,
  primary key (id)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table donation_paypal (
  id                      int             not null auto_increment,
  order_time              int             not null,
  userid                  int             not null,
  email_addr              varchar(255)    not null,
  order_amount            double(6,2)     not null,
  processed               tinyint         not null default 0,
  payment_time            int             not null,
  item_name               varchar(255)    not null,
  item_number             varchar(255)    not null,
  payment_status          varchar(255)    not null,
  payment_amount          double(6,2)     not null,
  payment_fee             double(5,2)     default null,
  payment_currency        varchar(255)    not null,
  txn_id                  varchar(255)    not null,
  receiver_email          varchar(255)    not null,
  payer_email             varchar(255)    not null,
  payer_name              varchar(255)    not null,
  primary key (id),
  key donation_paypal_userid (userid)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Team membership history and team administration.
create table team_delta (
  userid                  int             not null,
  teamid                  int             not null,
  timestamp               int             not null,
  joining                 tinyint         not null,
  total_credit            double          not null,
  key team_delta_teamid (teamid, timestamp),
  key team_delta_userid (userid)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Moderator votes on banishing a user.
create table banishment_vote (
  id                      bigint unsigned not null auto_increment,
  userid                  int             not null,
  modid                   int             not null,
  start_time              int             not null,
  end_time                int             not null,
  primary key (id),
  key banishment_vote_userid (userid)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table banishment_votes (
  id                      bigint unsigned not null auto_increment,
  voteid                  int             not null,
  modid                   int             not null,
  time                    int             not null,
  yes                     tinyint         not null,
  primary key (id)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table team_admin (
  teamid                  int             not null,
  userid                  int             not null,
  create_time             int             not null,
  rights                  int             not null,
  unique key teamid (teamid, userid)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Friendship requests (mutual when both directions exist) and notifications.
create table friend (
  user_src                int             not null,
  user_dest               int             not null,
  message                 varchar(255)    not null,
  create_time             int             not null,
  reciprocated            tinyint         not null,
  unique key friend_u (user_src, user_dest)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table notify (
  id                      bigint unsigned not null auto_increment,
  userid                  int             not null,
  create_time             int             not null,
  type                    int             not null,
  opaque                  int             not null,
  primary key (id),
  unique key notify_un (userid, type, opaque)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Badges and who holds them.
create table badge (
  id                      bigint unsigned not null auto_increment,
  create_time             double          not null,
  type                    tinyint         not null,
  name                    varchar(255)    not null,
  title                   varchar(255)    not null,
  description             varchar(255)    not null,
  image_url               varchar(255)    not null,
  level                   varchar(255)    not null,
  tags                    varchar(255)    not null,
  sql_rule                varchar(255)    not null,
  primary key (id)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table badge_user (
  badge_id                int             not null,
  user_id                 int             not null,
  create_time             double          not null,
  reassign_time           double          not null,
  unique key user_id (user_id, badge_id)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table badge_team (
  badge_id                int             not null,
  team_id                 int             not null,
  create_time             double          not null,
  reassign_time           double          not null,
  unique key team_id (team_id, badge_id)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Expiring one-time tokens (account deletion, email change, login consent).
create table token (
  token                   varchar(64)     not null,
  userid                  int             not null,
  type                    char(1)         not null,
  create_time             int             not null,
  expire_time             int,
  primary key (token),
  key token_userid (userid)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Public ids of deleted accounts and hosts, kept for statistics sites.
create table user_deleted (
  userid                  int             not null,
  public_cross_project_id varchar(254)    not null,
  create_time             double          not null,
  primary key (userid),
  key user_deleted_create (create_time)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table host_deleted (
  hostid                  int             not null,
  public_cross_project_id varchar(254)    not null,
  create_time             double          not null,
  primary key (hostid),
  key host_deleted_create (create_time)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Consent (GDPR) records; consent_type rows are seeded at the end of this file.
create table consent_type (
  id                      int             not null auto_increment,
  shortname               varchar(191)    not null,
  description             varchar(255)    not null,
  enabled                 int             not null,
  project_specific        int             not null,
  privacypref             int             not null,
  primary key (id),
  key consent_name (shortname)
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

create table consent (
  id                      int             not null auto_increment,
  userid                  int             not null,
  consent_type_id         int             not null,
  consent_time            int             not null,
  consent_flag            tinyint         not null,
  consent_not_required    tinyint         not null,
  source                  varchar(255)    not null,
  primary key (id),
  key consent_timestamp (consent_time),
  key consent_type_id (consent_type_id),
  key flag_ctid (consent_flag, consent_type_id),
  key userid_ctid_timestamp (userid, consent_type_id, consent_time),
  constraint consent_ibfk_1 foreign key (consent_type_id)
    references consent_type (id) on update cascade on delete restrict
) engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci;

-- Each user's most recent decision per consent type (no later row exists).
create view latest_consent as
  select c.userid, c.consent_type_id, c.consent_flag
  from consent c
  where not exists (
    select 1 from consent newer
    where newer.userid = c.userid
      and newer.consent_type_id = c.consent_type_id
      and newer.consent_time > c.consent_time);

-- Initial content: the two consent types every project starts with (disabled).
insert into consent_type (shortname, description, enabled, project_specific, privacypref) values
  ('ENROLL', 'General terms-of-use for this BOINC project.', 0, 0, 0),
  ('STATSEXPORT', 'Do you consent to exporting your data to BOINC statistics aggregation Web sites?', 0, 0, 1);
