/*
description: >
  One row per (non-deleted, latest-version) Product2: the product family dimension of the business-performance
  dashboard. Line items reach it directly (Product2Id) or through their PricebookEntry.
columns:
  product_id: "Product2 id."
  product_name: "Product2.Name."
  product_code: "Product2.ProductCode."
  family: "Product2.Family; the product-family dimension."
  is_active: "Product2.IsActive."
  created_at: "CreatedDate (GMT)."
*/
with products as (
    select * from staging.stg_product2
),

final as (
    select
        product2_id     as product_id,
        name            as product_name,
        product_code,
        family,
        is_active,
        created_date    as created_at
    from products
)

select * from final
