-- Impala: the month's purchases per item.
SELECT item, count(*) AS buy_cnt, avg(cast(score AS double)) AS avg_score
FROM Managed_SmartCar_Item_BuyList_Info
WHERE biz_month = '${working_month}'
GROUP BY item
ORDER BY buy_cnt DESC, item
