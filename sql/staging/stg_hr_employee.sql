/*
description: >
  A plain file without record ids: the rows of the most recent load of the file only (each load is a full snapshot that replaces the previous one), one row per employee (user_id, else lower(email), else employee_id, else name); when the file repeats an employee the last row of the file wins. Every contract field cast with the contract type. No joins. A plain file kept by sales operations beside the CRM export, one row per employee, with hire and termination dates (not standard Salesforce fields). It defines who is employed when, for employee retention and ramp time, and takes precedence over the User hire/termination custom fields. Rows are matched to Salesforce users by user_id, else by email.
columns:
  employee_id: "The employee's id in the HR system."
  user_id: "The employee's Salesforce User Id, when known."
  email: "Work email; matches the row to a user when user_id is empty. (pii: never select it in a mart)"
  hire_date: "First working day (YYYY-MM-DD)."
  termination_date: "Last working day (YYYY-MM-DD); empty while employed."
  name: "The employee's name as the HR system holds it (not needed by KPIs). (pii: never select it in a mart)"
  _export_id: "The export the chosen version was loaded from."
  _loaded_at: "When the chosen version was loaded into raw."
*/
with source as (
    select * from raw.hr_employee
),

latest_load as (
    select *
    from source
    qualify _loaded_at = max(_loaded_at) over ()
),

deduplicated as (
    select *
    from latest_load
    qualify row_number() over (
        partition by coalesce(sf_id("user_id"), lower(trim(sf_text("email"))), trim(sf_text("employee_id")), trim(sf_text("name")))
        order by _row_number desc
    ) = 1
),

final as (
    select
        sf_text("employee_id")      as employee_id,
        sf_id("user_id")            as user_id,
        sf_text("email")            as email,
        sf_date("hire_date", _date_order)        as hire_date,
        sf_date("termination_date", _date_order) as termination_date,
        sf_text("name")             as name,
        _export_id,
        _loaded_at
    from deduplicated
)

select * from final
