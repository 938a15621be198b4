/*
description: >
  One row per person who can carry a KPI: every User, plus every owner id of a lead, opportunity, account,
  task or event that has no User row (exports without User.csv: user_id = rep_name = the owner id), plus every
  HR employee that matches no user. is_rep follows the spec: UserType Standard or missing, AND owns at least
  one lead, opportunity, account, task or event, or appears in the HR file; AutomatedProcess, integration and
  other user types never are. Choices where the spec is silent: owner ids with the Queue prefix 00G are
  queues, not people, and get no row; an HR row matches a user by user_id first, else by lower(trim(email));
  when several HR rows match one user the one matched by id wins, then the latest hire date (the current
  employment); an HR employee matching no user gets user_id = its own user_id when given, else
  'hr:' || employee_id (or an md5 of the email), so it can be counted without exposing the email.
  Hire/termination dates come from the HR file when it gives a hire date, else from the User custom fields
  (Hire_Date__c / Termination_Date__c), never from CreatedDate; termination_date comes from the same source as
  hire_date. team_id per settings.team_source: 'manager' = ManagerId falling back to UserRoleId, 'role' =
  UserRoleId falling back to ManagerId; team_name is the manager's name or the role name.
columns:
  user_id: "The user's id (owner id for owners without a User row; synthetic 'hr:...' for HR-only employees)."
  rep_name: "Display name (User.Name, else first + last name, else the id; HR name for HR-only rows)."
  email: "User email (pii: marts must not select it)."
  user_type: "User.UserType (Standard, AutomatedProcess, ...); NULL when unknown."
  is_active: "User.IsActive; NULL when there is no User row."
  is_rep: "A sales rep per the spec (see description)."
  owns_records: "Owns at least one lead, opportunity, account, task or event."
  in_hr_file: "Matched by a row of the HR file."
  manager_id: "User.ManagerId."
  manager_name: "Name of the manager."
  role_id: "User.UserRoleId."
  role_name: "UserRole.Name."
  team_id: "The rep's team (manager id or role id, per team_source); NULL if neither."
  team_name: "Manager's name or role name."
  team_type: "'manager' or 'role': what team_id is."
  region: "Sales region (User.Division)."
  department: "User.Department."
  title: "User.Title."
  hire_date: "Hire date (HR file, else User.Hire_Date__c); NULL when unknown."
  termination_date: "Last day (same source as hire_date); NULL while employed."
  hire_date_source: "'hr_file', 'user_field' or NULL."
  employee_id: "The HR file's employee id, when matched."
  row_source: "'user', 'owner_only' (owner without a User row) or 'hr_only' (HR employee without a user)."
*/
with users as (
    select * from staging.stg_user
),

roles as (
    select * from staging.stg_user_role
),

hr as (
    select * from staging.stg_hr_employee
),

settings as (
    select * from staging.stg_run_settings
),

owner_ids as (
    select owner_id from staging.stg_lead where owner_id is not null
    union
    select owner_id from staging.stg_opportunity where owner_id is not null
    union
    select owner_id from staging.stg_account where owner_id is not null
    union
    select owner_id from staging.stg_task where owner_id is not null
    union
    select owner_id from staging.stg_event where owner_id is not null
),

owners as (
    select distinct owner_id
    from owner_ids
    where owner_id not like '00G%'
),

-- every id a person can be known by: users, and owners that have no User row
people as (
    select
        users.user_id,
        'user' as row_source,
        lower(trim(users.email)) as email_key
    from users
    union all
    select
        owners.owner_id,
        'owner_only',
        cast(null as varchar)
    from owners
    anti join users on users.user_id = owners.owner_id
),

hr_rows as (
    select
        hr.*,
        row_number() over (order by hr.user_id, hr.email, hr.employee_id, hr.name) as hr_row_id
    from hr
),

hr_by_id as (
    select people.user_id, hr_rows.hr_row_id, 1 as match_rank
    from hr_rows
    inner join people on people.user_id = hr_rows.user_id
),

hr_by_email as (
    select people.user_id, hr_rows.hr_row_id, 2 as match_rank
    from hr_rows
    inner join people on people.email_key = lower(trim(hr_rows.email))
    anti join hr_by_id on hr_by_id.hr_row_id = hr_rows.hr_row_id
),

hr_matches as (
    select * from hr_by_id
    union all
    select * from hr_by_email
),

hr_for_person as (
    select
        hr_matches.user_id,
        hr_rows.employee_id,
        hr_rows.hire_date,
        hr_rows.termination_date
    from hr_matches
    inner join hr_rows on hr_rows.hr_row_id = hr_matches.hr_row_id
    qualify row_number() over (
        partition by hr_matches.user_id
        order by hr_matches.match_rank, hr_rows.hire_date desc nulls last, hr_rows.hr_row_id
    ) = 1
),

hr_only as (
    select hr_rows.*
    from hr_rows
    anti join hr_matches on hr_matches.hr_row_id = hr_rows.hr_row_id
),

people_rows as (
    select
        people.user_id,
        people.row_source,
        coalesce(users.name, nullif(trim(concat_ws(' ', users.first_name, users.last_name)), ''), people.user_id) as rep_name,
        users.email,
        users.user_type,
        users.is_active,
        users.manager_id,
        users.user_role_id as role_id,
        users.division as region,
        users.department,
        users.title,
        owners.owner_id is not null as owns_records,
        hr_for_person.user_id is not null as in_hr_file,
        hr_for_person.employee_id,
        case when hr_for_person.hire_date is not null then 'hr_file'
             when users.hire_date is not null then 'user_field' end as hire_date_source,
        case when hr_for_person.hire_date is not null then hr_for_person.hire_date
             else users.hire_date end as hire_date,
        case when hr_for_person.hire_date is not null then hr_for_person.termination_date
             when users.hire_date is not null then users.termination_date
             else coalesce(hr_for_person.termination_date, users.termination_date) end as termination_date
    from people
    left join users on users.user_id = people.user_id
    left join owners on owners.owner_id = people.user_id
    left join hr_for_person on hr_for_person.user_id = people.user_id
),

hr_only_rows as (
    select
        coalesce(hr_only.user_id, 'hr:' || coalesce(trim(hr_only.employee_id), md5(lower(trim(hr_only.email))), cast(hr_only.hr_row_id as varchar))) as user_id,
        'hr_only' as row_source,
        coalesce(hr_only.name, hr_only.employee_id, hr_only.user_id, 'HR employee ' || cast(hr_only.hr_row_id as varchar)) as rep_name,
        hr_only.email,
        cast(null as varchar) as user_type,
        cast(null as boolean) as is_active,
        cast(null as varchar) as manager_id,
        cast(null as varchar) as role_id,
        cast(null as varchar) as region,
        cast(null as varchar) as department,
        cast(null as varchar) as title,
        false as owns_records,
        true as in_hr_file,
        hr_only.employee_id,
        case when hr_only.hire_date is not null then 'hr_file' end as hire_date_source,
        hr_only.hire_date,
        hr_only.termination_date
    from hr_only
),

all_rows as (
    select * from people_rows
    union all by name
    select * from hr_only_rows
),

final as (
    select
        all_rows.user_id,
        all_rows.rep_name,
        all_rows.email,
        all_rows.user_type,
        all_rows.is_active,
        (all_rows.user_type is null or lower(all_rows.user_type) = 'standard')
            and (all_rows.owns_records or all_rows.in_hr_file)                             as is_rep,
        all_rows.owns_records,
        all_rows.in_hr_file,
        all_rows.manager_id,
        managers.name                                                                       as manager_name,
        all_rows.role_id,
        roles.name                                                                          as role_name,
        case when settings.team_source = 'role' then coalesce(all_rows.role_id, all_rows.manager_id)
             else coalesce(all_rows.manager_id, all_rows.role_id) end                      as team_id,
        case when settings.team_source = 'role' then
                 case when all_rows.role_id is not null then coalesce(roles.name, all_rows.role_id)
                      when all_rows.manager_id is not null then coalesce(managers.name, all_rows.manager_id) end
             else
                 case when all_rows.manager_id is not null then coalesce(managers.name, all_rows.manager_id)
                      when all_rows.role_id is not null then coalesce(roles.name, all_rows.role_id) end
        end                                                                                 as team_name,
        case when settings.team_source = 'role' then
                 case when all_rows.role_id is not null then 'role'
                      when all_rows.manager_id is not null then 'manager' end
             else
                 case when all_rows.manager_id is not null then 'manager'
                      when all_rows.role_id is not null then 'role' end
        end                                                                                 as team_type,
        all_rows.region,
        all_rows.department,
        all_rows.title,
        all_rows.hire_date,
        all_rows.termination_date,
        all_rows.hire_date_source,
        all_rows.employee_id,
        all_rows.row_source
    from all_rows
    cross join settings
    left join users as managers on managers.user_id = all_rows.manager_id
    left join roles on roles.user_role_id = all_rows.role_id
)

select * from final
