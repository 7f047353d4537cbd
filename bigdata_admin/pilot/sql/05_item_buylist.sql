-- Mart 5: adult drivers' master data joined with the month's purchases, and per car the list of
-- distinct items bought that month. Parameter ${working_month} is yyyyMM.
CREATE TABLE IF NOT EXISTS Managed_SmartCar_Item_BuyList_Info (
  car_number string, sex string, age string, marriage string, region string, job string,
  car_capacity string, car_year string, car_model string,
  item string, score string)
PARTITIONED BY (biz_month string)
ROW FORMAT DELIMITED FIELDS TERMINATED BY ','
STORED AS TEXTFILE;

INSERT OVERWRITE TABLE Managed_SmartCar_Item_BuyList_Info PARTITION (biz_month = '${working_month}')
SELECT m.car_number, m.sex, m.age, m.marriage, m.region, m.job, m.car_capacity, m.car_year, m.car_model,
       b.item, b.score
FROM SmartCar_Master_Over18 m
JOIN SmartCar_Item_BuyList b ON m.car_number = b.car_number
WHERE b.month = '${working_month}';

CREATE TABLE IF NOT EXISTS Managed_SmartCar_Item_List_Info (
  car_number string, buy_cnt bigint, items string)
PARTITIONED BY (biz_month string)
ROW FORMAT DELIMITED FIELDS TERMINATED BY '|'
STORED AS TEXTFILE;

INSERT OVERWRITE TABLE Managed_SmartCar_Item_List_Info PARTITION (biz_month = '${working_month}')
SELECT car_number, count(*) AS buy_cnt, concat_ws(',', sort_array(collect_set(item))) AS items
FROM Managed_SmartCar_Item_BuyList_Info
WHERE biz_month = '${working_month}'
GROUP BY car_number;
