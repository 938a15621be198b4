/*
description: >
  One row per User Id: the latest version across every loaded export (newest SystemModstamp, then latest load, then last row of the file). Rows without an Id are dropped. Every contract field renamed to snake_case and cast with the contract type; Id becomes user_id. No joins. The people and system accounts that log in to Salesforce. Sales reps are the Standard users who own leads, opportunities, accounts, tasks or events (or appear in the HR file); their manager defines the team, and Division is the sales region. Every KPI scoped by rep or team, the leaderboard, and the HR KPIs (retention, ramp time, via the optional hire/termination custom fields) rely on it.
columns:
  user_id: "The user's 18-character Salesforce id (prefix 005)."
  username: "Login name, in the form of an email address."
  first_name: "First name of the user."
  last_name: "Last name of the user."
  name: "Full display name; shown on leaderboards and in rep scopes."
  name_source: "Where name came from: the Name column, or FirstName and LastName joined (the Data Export's User.csv has no Name)."
  email: "The user's email; used to match HR rows that have no user id. (pii: never select it in a mart)"
  phone: "The user's phone number. (pii: never select it in a mart)"
  is_active: "Whether the user can still log in."
  user_type: "License category; only Standard users (or rows without a type) can be sales reps, AutomatedProcess and integration users never are."
  manager_id: "The user's manager; defines the rep's team."
  user_role_id: "The user's role; the team fallback when there is no manager."
  division: "Sales region of the user; region dimension of the business dashboards."
  department: "The user's department."
  title: "The user's job title."
  company_name: "Company name on the user record."
  created_date: "When the user was created (GMT). Never used as a hire date."
  last_modified_date: "Last change to the user record (GMT)."
  system_modstamp: "Last system change (GMT); the newer version wins across exports."
  hire_date: "Custom field; the rep's hire date (used when there is no HR file)."
  termination_date: "Custom field; the rep's last day, empty while employed."
  _export_id: "The export the chosen version was loaded from."
  _loaded_at: "When the chosen version was loaded into raw."
*/
with latest as (
    -- the newest version of each record: ranked on the row ids alone, then read whole (ranking whole
    -- rows sorted and spilled every column: Task at enterprise scale took 257 s instead of 121 s)
    select *
    from raw.user
    where rowid in (
        select rowid
        from raw.user
        where sf_id("Id") is not null and not coalesce(_duplicate_id, false)
        qualify row_number() over (
            partition by sf_id("Id")
            order by sf_timestamp("SystemModstamp", _date_order) desc nulls last, _loaded_at desc, _row_number desc
        ) = 1
    )
),

final as (
    select
        sf_id("Id")                      as user_id,
        sf_text("Username")              as username,
        sf_text("FirstName")             as first_name,
        sf_text("LastName")              as last_name,
        -- the Data Export's User.csv has no Name column: the name is made from FirstName and LastName
        coalesce(sf_text("Name"), nullif(concat_ws(' ', sf_text("FirstName"), sf_text("LastName")), '')) as name,
        case when sf_text("Name") is not null then 'Name'
             when coalesce(sf_text("FirstName"), sf_text("LastName")) is not null then 'FirstName LastName'
        end                              as name_source,
        sf_text("Email")                 as email,
        sf_text("Phone")                 as phone,
        sf_bool("IsActive")              as is_active,
        sf_text("UserType")              as user_type,
        sf_id("ManagerId")               as manager_id,
        sf_id("UserRoleId")              as user_role_id,
        sf_text("Division")              as division,
        sf_text("Department")            as department,
        sf_text("Title")                 as title,
        sf_text("CompanyName")           as company_name,
        sf_timestamp("CreatedDate", _date_order)      as created_date,
        sf_timestamp("LastModifiedDate", _date_order) as last_modified_date,
        sf_timestamp("SystemModstamp", _date_order)   as system_modstamp,
        sf_date("Hire_Date__c", _date_order)          as hire_date,
        sf_date("Termination_Date__c", _date_order)   as termination_date,
        _export_id,
        _loaded_at
    from latest
)

select * from final
