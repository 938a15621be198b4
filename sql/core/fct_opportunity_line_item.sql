/*
description: >
  One row per (latest, non-deleted) opportunity line item: which products a deal sold and for how much, in the
  corporate currency. The product is the line item's Product2Id, else the product of its PricebookEntry (real
  exports often carry only PricebookEntryId). Amounts convert at the rate of the line item's opportunity (in
  Salesforce a line item always has its opportunity's currency), so they add up to the deal's corporate amount
  when the line items do. Line items of opportunities missing from the export are left out. A line item
  derives only from itself, its opportunity's row and the products, so the nightly run merges the line items
  of the opportunities whose row or line items changed.
incremental:
  unique_key: opportunity_id
  record_key: opportunity_line_item_id
  keyed_inputs: [staging.stg_opportunity_line_item, core.fct_opportunity]
columns:
  opportunity_line_item_id: "The line item's 18-character Salesforce id."
  opportunity_id: "The deal the line item belongs to."
  product_id: "Product2 id, directly or through the PricebookEntry; NULL when neither is known."
  product_name: "Product name (core.dim_product)."
  product_family: "Product2.Family; '(none)' when the product or its family is unknown."
  quantity: "Units sold."
  total_price: "TotalPrice in the record's currency."
  total_price_corporate: "TotalPrice converted to the corporate currency at the opportunity's rate; NULL without a rate."
*/
with line_items as (
    select * from staging.stg_opportunity_line_item
),

pricebook_entries as (
    select pricebook_entry_id, product2_id from staging.stg_pricebook_entry
),

products as (
    select product_id, product_name, family from core.dim_product
),

opportunities as (
    select opportunity_id, conversion_rate from core.fct_opportunity
),

final as (
    select
        line_items.opportunity_line_item_id,
        line_items.opportunity_id,
        coalesce(line_items.product2_id, pricebook_entries.product2_id)           as product_id,
        products.product_name,
        coalesce(products.family, '(none)')                                       as product_family,
        line_items.quantity,
        line_items.total_price,
        line_items.total_price / nullif(opportunities.conversion_rate, 0)         as total_price_corporate
    from line_items
    inner join opportunities on opportunities.opportunity_id = line_items.opportunity_id
    left join pricebook_entries on pricebook_entries.pricebook_entry_id = line_items.pricebook_entry_id
    left join products
        on products.product_id = coalesce(line_items.product2_id, pricebook_entries.product2_id)
)

select * from final
